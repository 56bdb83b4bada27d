"""``shlepa-hybrid``: each kind of request to the engine that is fast at it.

Log-likelihood requests (multiple choice, perplexity) go to ``shlepa-hf``, which
computes shared contexts once; vLLM does not help there (it ignores its prefix cache for
requests that ask for prompt log-probabilities, which is how lm-eval scores multiple
choice). Generation requests go to vLLM when it is installed, where batching and paged
attention make it fast, or else to the same HF model's own ``generate_until`` (plain hf
generation, one model in memory). The two engines are built by
:func:`shlepa.evaluation.model.create_lm`; this class only routes.
"""

from __future__ import annotations

from typing import Any

from lm_eval.api.model import LM


class HybridLM(LM):
    """Routes ``loglikelihood*`` to ``scorer`` and ``generate_until`` to ``generator``.

    Everything else lm-eval asks of a model (rank, tokenizer, chat template, model info)
    is the scorer's, so a run looks like a ``shlepa-hf`` run to lm-eval.
    """

    def __init__(self, scorer: Any, generator: Any, generation_backend: str) -> None:
        super().__init__()
        self.scorer = scorer
        self.generator = generator
        self.generation_backend = generation_backend  # what scored generation (results file, scoring record)

    def __getattr__(self, name: str) -> Any:  # only called for names this object lacks
        if name in ("scorer", "generator"):
            raise AttributeError(name)
        return getattr(self.scorer, name)

    @property
    def rank(self) -> int:
        return int(self.scorer.rank)

    @property
    def world_size(self) -> int:
        return int(self.scorer.world_size)

    @property
    def tokenizer_name(self) -> str:
        return str(self.scorer.tokenizer_name)

    def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        return str(self.scorer.apply_chat_template(chat_history, add_generation_prompt=add_generation_prompt))

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        return self.scorer.chat_template(chat_template)

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        return self.scorer.loglikelihood(requests, disable_tqdm=disable_tqdm)

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        return self.scorer.loglikelihood_rolling(requests, disable_tqdm=disable_tqdm)

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        return self.generator.generate_until(requests, disable_tqdm=disable_tqdm)

    def scoring_report(self) -> dict[str, dict[str, Any]]:
        """The scorer's report (see ``SharedContextHFLM.scoring_report``)."""
        return self.scorer.scoring_report()
