"""No request field can add an argument to model loading.

lm-eval's CLI form ``key=value,key=value`` would let a revision such as
``main,trust_remote_code=True`` add an argument. Shlepa never builds that string
from request fields: the request schema rejects such values, ``model_args_for``
checks them again, and the model is created from a dict.
"""

from __future__ import annotations

import pytest

from shlepa.evaluation import run as evaluation
from shlepa.evaluation.model import ModelArgsError, model_args_for
from shlepa.records.request import Request, RequestError, new_request, parse_request

HOSTILE = [
    "main,trust_remote_code=True",
    "a" * 40 + ",trust_remote_code=True",
    "a" * 40 + ",pretrained=evil/model",
    "trust_remote_code=True",
    "a" * 39 + "=",
    "a" * 40 + " ",
    "a" * 40 + "\n,device=cuda",
    "main",
    "A" * 40,
    "a" * 40 + ",",
    "${{ github.token }}",
    "$(id)",
    "a" * 20 + "," + "b" * 19,
]
HOSTILE_MODELS = [
    "org/m,trust_remote_code=True",
    "org/m=1",
    "org/m dtype=float64",
    "org/../m",
    "org/m;id",
    "org/m\n",
    "org/m,peft=evil/adapter",
]


def _data(**kw) -> dict:
    data = new_request("org/model", "a" * 40, "float16", "fine-tuned", "mit", "alice").model_dump(mode="json")
    data.update(kw)
    return data


@pytest.mark.parametrize("revision", HOSTILE)
def test_hostile_revision_is_rejected_by_the_schema(revision):
    with pytest.raises(RequestError, match=r"field 'revision'"):
        parse_request(_data(revision=revision), "requests/org/model/x.yaml")


@pytest.mark.parametrize("model", HOSTILE_MODELS)
def test_hostile_model_and_base_model_are_rejected(model):
    with pytest.raises(RequestError, match=r"field 'model'"):
        parse_request(_data(model=model), "f.yaml")
    with pytest.raises(RequestError, match=r"field 'base_model'"):
        parse_request(_data(weight_type="adapter", base_model=model), "f.yaml")


@pytest.mark.parametrize("revision", HOSTILE)
def test_model_args_refuse_hostile_values_even_past_the_schema(revision):
    # model_construct skips validation: the second check in model_args_for must still refuse.
    req = Request.model_construct(
        **{**new_request("org/model", "a" * 40, "float16", "pretrained", "mit", "alice").__dict__, "revision": revision}
    )
    with pytest.raises(ModelArgsError):
        model_args_for(req)


def test_model_is_created_from_a_dict_with_remote_code_off(monkeypatch, tmp_path):
    req = new_request("org/model", "b" * 40, "bfloat16", "pretrained", "mit", "alice")
    args = model_args_for(req)
    assert args == {
        "pretrained": "org/model",
        "revision": "b" * 40,
        "dtype": "bfloat16",
        "trust_remote_code": False,
        "use_safetensors": True,
    }
    seen = {}

    class FakeModel:
        @classmethod
        def create_from_arg_obj(cls, arg_obj, additional_config=None):
            seen["args"], seen["config"] = arg_obj, additional_config
            return cls()

    import lm_eval.api.registry

    monkeypatch.setattr(lm_eval.api.registry, "get_model", lambda name: FakeModel)
    evaluation.create_lm("hf", args, 1, "cpu")
    assert isinstance(seen["args"], dict) and seen["args"]["trust_remote_code"] is False
    assert set(seen["args"]) == {"pretrained", "revision", "dtype", "trust_remote_code", "use_safetensors"}


def test_hostile_request_file_never_reaches_lm_eval(monkeypatch, tmp_path):
    path = tmp_path / "requests" / "org" / "model" / "x.yaml"
    path.parent.mkdir(parents=True)
    text = new_request("org/model", "c" * 40, "float16", "pretrained", "mit", "alice").to_yaml()
    path.write_text(text.replace("c" * 40, "c" * 40 + ",trust_remote_code=True"))
    calls = []
    monkeypatch.setattr(evaluation, "create_lm", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(evaluation, "run_lm_eval", lambda *a, **k: calls.append(a))
    with pytest.raises(RequestError, match="field 'revision'"):
        evaluation.evaluate_request(path, tmp_path)
    assert calls == []
