"""The bundled offline mini edition of the default suite loads in lm-eval and matches it.

Fast (no model): builds every bundled task of eval/suites/open_llm_v1.yaml with
lm-eval's TaskManager on the local JSONL data, with the Hugging Face Hub disabled.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "eval" / "suites" / "open_llm_v1.yaml"
TASKS_DIR = REPO / "eval" / "tasks"
DATA_DIR = REPO / "eval" / "data"

# Bundled task -> (data folder, test JSONL relative to it). MMLU is per subject.
DATA = {
    "shlepa_arc_challenge": ("arc_challenge", "test.jsonl"),
    "shlepa_hellaswag": ("hellaswag", "test.jsonl"),
    "shlepa_mmlu": ("mmlu", None),
    "shlepa_truthfulqa_mc2": ("truthfulqa_mc", "test.jsonl"),
    "shlepa_winogrande": ("winogrande", "test.jsonl"),
    "shlepa_gsm8k": ("gsm8k", "test.jsonl"),
}
# Bundled task -> the stock lm-eval task YAML (under lm_eval/tasks/) whose fields it copies.
STOCK = {
    "shlepa_arc_challenge": "arc/arc_challenge.yaml",
    "shlepa_hellaswag": "hellaswag/hellaswag.yaml",
    "shlepa_mmlu_abstract_algebra": "mmlu/default/mmlu_abstract_algebra.yaml",
    "shlepa_truthfulqa_mc2": "truthfulqa/truthfulqa_mc2.yaml",
    "shlepa_winogrande": "winogrande/default.yaml",
    "shlepa_gsm8k": "gsm8k/gsm8k.yaml",
}
COPIED_FIELDS = [
    "output_type",
    "doc_to_text",
    "doc_to_choice",
    "doc_to_target",
    "process_results",
    "metric_list",
    "filter_list",
    "generation_kwargs",
    "repeats",
    "description",
    "metadata",
]


def _lines(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


@pytest.fixture(scope="module")
def suite() -> dict:
    return yaml.safe_load(SUITE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tm():
    from lm_eval.tasks import TaskManager

    # include_defaults=False skips indexing lm-eval's ~10k stock YAMLs (about 13 s); the
    # bundled tasks need none of them. Real runs use the default (both), names don't clash.
    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False)


@pytest.fixture(scope="module")
def loaded(suite, tm):
    """Build every bundled task once, from the repository root, offline."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)
        mp.setenv("HF_DATASETS_OFFLINE", "1")
        mp.setenv("HF_HUB_OFFLINE", "1")
        return tm.load([b["bundled_task"] for b in suite["benchmarks"]])


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _stock_cfg(rel_path: str) -> dict:
    import lm_eval.tasks
    from lm_eval.tasks._yaml_loader import load_yaml

    return load_yaml(Path(lm_eval.tasks.__file__).parent / rel_path, resolve_func=True)


def _bundled_cfg(tm, name: str) -> dict:
    from lm_eval.tasks._yaml_loader import load_yaml

    return load_yaml(tm.task_index[name].yaml_path, resolve_func=True)


def _same(a, b) -> bool:
    if callable(a) and callable(b):
        return inspect.getsource(a) == inspect.getsource(b)
    return a == b


def test_suite_lists_the_six_benchmarks(suite):
    assert suite["name"] == "open_llm_v1"
    keys = [b["key"] for b in suite["benchmarks"]]
    assert keys == ["arc", "hellaswag", "mmlu", "truthfulqa", "winogrande", "gsm8k"]
    assert {b["bundled_task"] for b in suite["benchmarks"]} == set(DATA)
    for b in suite["benchmarks"]:
        for field in (
            "title",
            "description",
            "task",
            "num_fewshot",
            "metric",
            "filter",
            "aggregate",
            "baseline",
            "baseline_note",
            "url",
            "citation",
        ):
            assert b.get(field) not in (None, ""), (b["key"], field)
        assert b["aggregate"] in ("task", "subtask_mean")
        assert b["citation"].lstrip().startswith("@")


def test_every_bundled_task_loads_with_expected_shots_and_docs(suite, loaded):
    tasks, groups = loaded["tasks"], loaded["groups"]
    for b in suite["benchmarks"]:
        name = b["bundled_task"]
        folder, test_file = DATA[name]
        if b["aggregate"] == "subtask_mean":
            assert name in groups
            subtasks = loaded["group_map"][name]
        else:
            assert name in tasks
            subtasks = [name]
        for sub in subtasks:
            task = tasks[sub]
            assert task.config.num_fewshot == b["num_fewshot"], sub
            assert task.config.dataset_path == "json"
            if test_file is None:  # MMLU: eval/data/mmlu/test/<subject>.jsonl
                path = DATA_DIR / folder / "test" / f"{sub.removeprefix('shlepa_mmlu_')}.jsonl"
            else:
                path = DATA_DIR / folder / test_file
            assert len(task.eval_docs) == _lines(path), sub
            if b["num_fewshot"] > 0:
                pool = task.sampler.fewshot_docs()
                assert len(pool) >= b["num_fewshot"], sub


def test_mmlu_has_57_subtasks_with_cross_subject_pool(loaded):
    subtasks = loaded["group_map"]["shlepa_mmlu"]
    assert len(subtasks) == 57 == len(set(subtasks))
    assert len(list((DATA_DIR / "mmlu" / "test").glob("*.jsonl"))) == 57
    dev_lines = _lines(DATA_DIR / "mmlu" / "dev.jsonl")
    for sub in subtasks:
        subject = sub.removeprefix("shlepa_mmlu_")
        task = loaded["tasks"][sub]
        pool = task.sampler.fewshot_docs()
        # The subject's own (= evaluated) items are removed from the cross-subject pool.
        assert all(d["subject"] != subject for d in pool), sub
        assert len(pool) == dev_lines - len(task.eval_docs) == 224
        assert all(d not in pool for d in task.eval_docs)
        assert task.config.fewshot_config.sampler == "first_n"
        assert task.config.description == (
            f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n"
        )


def test_mmlu_gives_every_question_of_a_subject_the_same_preamble_of_its_own(loaded):
    """As stock MMLU's `first_n`: one fixed 5-shot preamble per subject (never its own items),
    and no two subjects share one."""
    preambles = {}
    for sub in loaded["group_map"]["shlepa_mmlu"]:
        task = loaded["tasks"][sub]
        contexts = {task.fewshot_context(doc, num_fewshot=5) for doc in task.eval_docs}
        shots = {c.rsplit("\n\n", 1)[0] for c in contexts}  # the context less the question itself
        assert len(shots) == 1, sub
        ((preamble,),) = [shots]
        assert preamble.count("Answer:") == 5, sub
        own = {d["question"].strip() for d in task.eval_docs}
        assert not any(q in preamble for q in own), sub
        preambles[sub] = preamble.split("\n\n", 1)[1]  # without the subject's description line
    assert len(set(preambles.values())) == len(preambles) == 57


def test_mmlu_group_averages_unweighted(tm):
    from lm_eval.tasks._yaml_loader import load_yaml

    group = load_yaml(TASKS_DIR / "mmlu" / "_shlepa_mmlu.yaml")
    assert group["group"] == "shlepa_mmlu"
    assert all(m.get("weight_by_size") is False for m in group["aggregate_metric_list"])


@pytest.mark.parametrize("bundled,stock", sorted(STOCK.items()))
def test_prompt_fields_copied_from_stock_lm_eval(tm, bundled, stock):
    ours, theirs = _bundled_cfg(tm, bundled), _stock_cfg(stock)
    if stock.startswith("mmlu/"):
        theirs.pop("description")  # per subject; checked in the MMLU test
        ours.pop("description")
    for field in COPIED_FIELDS:
        assert _same(ours.get(field), theirs.get(field)), (bundled, field)
    if "num_fewshot" in theirs:
        assert ours["num_fewshot"] == theirs["num_fewshot"]


def test_arc_first_test_doc_renders_like_stock_arc_challenge(tm, loaded):
    from lm_eval.utils import apply_template

    task = loaded["tasks"]["shlepa_arc_challenge"]
    doc = task.eval_docs[0]
    first_line = json.loads((DATA_DIR / "arc_challenge" / "test.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert doc["id"] == first_line["id"]
    stock = _stock_cfg(STOCK["shlepa_arc_challenge"])
    assert task.doc_to_text(doc) == apply_template(stock["doc_to_text"], doc)
    assert str(task.doc_to_target(doc)) == apply_template(stock["doc_to_target"], doc)
    assert task.doc_to_choice(doc) == doc["choices"]["text"]
    assert apply_template(stock["doc_to_choice"], doc) == str(doc["choices"]["text"])


def test_hellaswag_query_is_activity_label_and_ctx(loaded):
    task = loaded["tasks"]["shlepa_hellaswag"]
    raw = json.loads((DATA_DIR / "hellaswag" / "test.jsonl").read_text(encoding="utf-8").splitlines()[0])
    doc = task.eval_docs[0]
    assert task.doc_to_text(doc) == f"{raw['activity_label']}: {raw['ctx']}"
    assert task.doc_to_choice(doc) == raw["endings"]
    assert int(task.doc_to_target(doc)) == raw["label"]


@pytest.mark.parametrize("folder", sorted({f for f, _ in DATA.values()}))
def test_source_md_names_a_license(folder):
    source = DATA_DIR / folder / "SOURCE.md"
    assert source.is_file()
    text = source.read_text(encoding="utf-8")
    assert re.search(r"^- License: \S", text, re.MULTILINE), folder
    assert "which rows went where" in text


def test_data_paths_are_repo_relative():
    for path in TASKS_DIR.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        for ref in re.findall(r"eval/data/[\w./-]+\.jsonl", text):
            assert not os.path.isabs(ref)
            assert (REPO / ref).is_file(), (path.name, ref)
