"""lm-eval 0.4.13's humaneval/utils.py, scoring with shlepa.evaluation.codeeval instead of HF evaluate's
code_eval (which is downloaded from the Hub at import): same program layout, same
HF_ALLOW_CODE_EVAL safeguard, same unbiased pass@k estimator."""

from shlepa.evaluation.codeeval import compute_code_eval


def pass_at_k(references: list[str], predictions: list[list[str]], k: list[int] = None):
    assert k is not None
    if isinstance(k, int):
        k = [k]
    res = compute_code_eval(references=references, predictions=predictions, k=k)
    return res[0]


def build_predictions(resps: list[list[str]], docs: list[dict]) -> list[list[str]]:
    return [[doc["prompt"] + r for r in resp] for resp, doc in zip(resps, docs)]
