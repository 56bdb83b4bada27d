"""Backends get model arguments as a dict; vLLM is optional and says how to install it."""

from __future__ import annotations

import importlib.util

import pytest

from shlepa.evaluation.model import BackendError, backend_model_args, is_main_process, model_args_for, require_backend
from shlepa.records.request import new_request

SHA = "a" * 40


def _hf_args(precision: str = "bfloat16") -> dict:
    return model_args_for(new_request("org/model", SHA, precision, "pretrained", "mit", "me"))


def test_hf_gets_the_request_args_unchanged_with_remote_code_off_and_safetensors_only():
    args = backend_model_args("hf", _hf_args())
    assert args == {
        "pretrained": "org/model",
        "revision": SHA,
        "dtype": "bfloat16",
        "trust_remote_code": False,
        "use_safetensors": True,
    }


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")
def test_vllm_without_the_package_fails_with_the_install_command():
    with pytest.raises(BackendError, match=r"pip install 'shlepa\[vllm\]'"):
        require_backend("vllm")


def test_vllm_args_keep_prefix_caching_on_and_remote_code_off():
    from shlepa.evaluation.model import effective_backend_args

    args = {**backend_model_args("vllm", _hf_args("float16")), **effective_backend_args("vllm", {})}
    assert args == {
        "pretrained": "org/model",
        "revision": SHA,
        "dtype": "float16",
        "trust_remote_code": False,
        "load_format": "safetensors",
        "enable_prefix_caching": True,
    }


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(BackendError, match="unknown backend 'tgi'"):
        backend_model_args("tgi", _hf_args())


def test_only_rank_zero_writes(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    assert not is_main_process()
    monkeypatch.setenv("RANK", "0")
    assert is_main_process()


def test_non_zero_rank_writes_nothing(tmp_path, monkeypatch):
    """lm-eval returns None on ranks other than 0 under accelerate: no results, no status change."""
    import shutil

    from shlepa.evaluation import run as evaluation
    from shlepa.evaluation.options import EvalOptions
    from shlepa.evaluation.run import evaluate_request
    from shlepa.records.request import Status, load_request
    from shlepa.records.suite import DataSource

    from support.gitboard import PROJECT, add_requests

    shutil.copytree(PROJECT / "eval" / "suites", tmp_path / "eval" / "suites")
    rel = add_requests(tmp_path, 1)[0]
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setattr(evaluation, "load_tasks", lambda *a: evaluation.LoadedTasks([], {}, {}))
    monkeypatch.setattr(evaluation, "create_lm", lambda *a: object())
    monkeypatch.setattr(evaluation, "run_lm_eval", lambda *a: None)
    out = evaluate_request(tmp_path / rel, tmp_path, EvalOptions(source=DataSource.bundled, backend="dummy"))
    assert out is None
    assert load_request(tmp_path / rel).status == Status.pending
    assert not (tmp_path / "results").exists()


def test_an_adapters_base_model_loads_at_its_own_pinned_commit_not_the_adapters(tmp_path):
    """#15 item 7: lm-eval passes one `revision` to base and adapter; it must be the base's own commit."""
    from shlepa.evaluation.model import ModelArgsError

    adapter_sha, base_sha = "a" * 40, "b" * 40
    fetched: list[tuple[str, str]] = []

    def fetch(model: str, revision: str):
        fetched.append((model, revision))
        return tmp_path / "adapter-at-its-commit"

    req = new_request(
        "org/adapter", adapter_sha, "bfloat16", "fine-tuned", "mit", "me",
        weight_type="adapter", base_model="org/base", base_revision=base_sha,
    )  # fmt: skip
    args = model_args_for(req, fetch=fetch)
    assert args["pretrained"] == "org/base" and args["revision"] == base_sha
    assert args["peft"] == str(tmp_path / "adapter-at-its-commit")
    assert fetched == [("org/adapter", adapter_sha)]  # the adapter itself, at the adapter's commit
    local = model_args_for(req, model_path=tmp_path / "local")
    assert local["revision"] == base_sha and local["peft"] == str(tmp_path / "local")

    unpinned = req.model_copy(update={"base_revision": None})
    with pytest.raises(ModelArgsError, match="base_revision"):
        model_args_for(unpinned, fetch=fetch)
