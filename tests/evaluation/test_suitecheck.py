"""Suites as data: loading, the analysis360 suite, and checks against lm-eval's task index."""

from __future__ import annotations

import shutil
from pathlib import Path

import lm_eval.tasks
import pytest
from lm_eval.tasks._index import TaskIndex

from shlepa.evaluation.suitecheck import build_index, check_suite, check_suites, reported
from shlepa.records.suite import DataSource, SuiteError, load_suite

REPO = Path(__file__).resolve().parents[2]
STOCK = Path(lm_eval.tasks.__file__).parent
# The stock task folders the two suites name (the whole index takes minutes to read).
STOCK_DIRS = [
    "mmlu",
    "race",
    "arc",
    "super_glue",
    "hellaswag",
    "openbookqa",
    "piqa",
    "siqa",
    "winogrande",
    "crows_pairs",
    "truthfulqa",
    "toxigen",
    "gsm8k",
    "drop",
    "humaneval",
    "mbpp",
    "wikitext",
    "leaderboard",
]


@pytest.fixture(scope="module")
def index() -> dict:
    """lm-eval's real index over the relevant stock folders plus eval/tasks."""
    return TaskIndex.build([*(STOCK / d for d in STOCK_DIRS), REPO / "eval" / "tasks"])


@pytest.fixture(scope="module")
def bundled() -> set[str]:
    return set(build_index(REPO, stock=False))


def test_default_suite_is_still_the_open_llm_six():
    suite = load_suite("open_llm_v1", REPO)
    assert suite.keys == ["arc", "hellaswag", "mmlu", "truthfulqa", "winogrande", "gsm8k"]
    assert suite.average_keys == suite.keys


def test_analysis360_lists_every_analysis360_metric():
    suite = load_suite("analysis360", REPO)
    tasks = {b.task for b in suite.benchmarks}
    for stock in [
        "mmlu",
        "race",
        "arc_challenge",
        "boolq",
        "hellaswag",
        "openbookqa",
        "piqa",
        "social_iqa",
        "winogrande",
        "crows_pairs_english",
        "truthfulqa_mc2",
        "gsm8k",
        "copa",
        "toxigen",
        "drop",
        "humaneval",
        "mbpp",
        "wikitext",
    ]:
        assert stock in tasks, stock
    metrics = {b.metric for b in suite.benchmarks}
    assert {"pass@1", "pass@10", "word_perplexity", "byte_perplexity", "bits_per_byte", "memorized"} <= metrics
    # Non-accuracy metrics are shown but never averaged.
    for key in ["word_perplexity", "byte_perplexity", "bits_per_byte", "crows_pairs", "memorization"]:
        assert key not in suite.average_keys
    code = {b.key for b in suite.benchmarks if b.unsafe_code}
    assert code == {"humaneval", "humaneval_pass10", "mbpp"}


def test_benchmarks_without_bundled_data_have_only_a_hub_task():
    suite = load_suite("analysis360", REPO)
    no_bundled = {b.key for b in suite.benchmarks if b.kind == "lm_eval" and not b.bundled_task}
    assert no_bundled == {"race", "toxigen", "drop"}
    runnable = {b.key for b in suite.runnable(DataSource.bundled)}
    assert not runnable & no_bundled and "boolq" in runnable


def test_shipped_suites_pass_the_check(index, bundled):
    for name in ["open_llm_v1", "analysis360"]:
        suite = load_suite(name, REPO)
        assert check_suite(suite, REPO / f"eval/suites/{name}.yaml", index, bundled) == [], name


def test_reported_metrics_come_from_the_task_config(index):
    assert reported("shlepa_wikitext", index)[0] == {"word_perplexity", "byte_perplexity", "bits_per_byte"}
    assert reported("humaneval", index) == ({"pass@1"}, {"create_test"})
    assert reported("shlepa_humaneval_10", index)[0] == {"pass@10"}
    assert reported("gsm8k", index)[1] == {"strict-match", "flexible-extract"}
    assert "acc" in reported("shlepa_mmlu", index)[0]  # a group: its aggregate and its subtasks


def _suite_copy(tmp_path: Path, edit: str, new: str) -> Path:
    root = tmp_path / "repo"
    (root / "eval" / "suites").mkdir(parents=True)
    (root / "eval" / "tasks").symlink_to(REPO / "eval" / "tasks", target_is_directory=True)
    text = (REPO / "eval/suites/analysis360.yaml").read_text()
    assert edit in text
    (root / "eval/suites/analysis360.yaml").write_text(text.replace(edit, new, 1))
    return root


@pytest.mark.parametrize(
    ("edit", "new", "expected"),
    [
        (
            "task: boolq\n",
            "task: boolq_nonexistent\n",
            "field 'benchmarks.3.task': unknown lm-eval task 'boolq_nonexistent'",
        ),
        (
            "bundled_task: shlepa_boolq\n",
            "bundled_task: shlepa_nope\n",
            "field 'benchmarks.3.bundled_task': 'shlepa_nope' is not a task in eval/tasks",
        ),
        (
            "metric: word_perplexity\n",
            "metric: acc\n",
            "field 'benchmarks.18.metric': task 'wikitext' does not report 'acc' (it reports: bits_per_byte, byte_perplexity, word_perplexity)",
        ),
        (
            "filter: create_test\n",
            "filter: none\n",
            "field 'benchmarks.15.filter': task 'humaneval' has no filter 'none'",
        ),
    ],
)
def test_wrong_task_or_metric_is_a_clear_error(tmp_path, index, edit, new, expected):
    root = _suite_copy(tmp_path, edit, new)
    problems = check_suites(root, ["analysis360"], index=index)
    path = root / "eval/suites/analysis360.yaml"
    assert any(p.startswith(f"{path}: {expected}") for p in problems), problems


def test_schema_errors_name_file_and_field(tmp_path):
    root = _suite_copy(tmp_path, "    kind: memorization\n", "    kind: memorization\n    task: wikitext\n")
    with pytest.raises(SuiteError, match=r"analysis360.yaml: field 'benchmarks.21': .*runs no lm-eval task"):
        load_suite("analysis360", root)
    root2 = _suite_copy(tmp_path / "b", "    in_average: false\n", "    in_average: maybe\n")
    with pytest.raises(SuiteError, match=r"field 'benchmarks.11.in_average'"):
        load_suite("analysis360", root2)


def test_cli_suites_check_reports_problems(tmp_path, monkeypatch, index):
    from typer.testing import CliRunner

    import shlepa.cli.analysis as cli_analysis
    from shlepa.cli import app

    root = _suite_copy(tmp_path, "task: boolq\n", "task: boolq_nonexistent\n")
    shutil.copy(REPO / "eval/suites/open_llm_v1.yaml", root / "eval/suites/open_llm_v1.yaml")
    monkeypatch.setattr(cli_analysis, "check_suites", lambda r, names: check_suites(r, names, index=index))
    result = CliRunner().invoke(app, ["suites-check", "--root", str(root)])
    assert result.exit_code == 1
    assert "unknown lm-eval task 'boolq_nonexistent'" in result.output


def _leaf_configs(name: str, index: dict) -> dict[str, dict]:
    """lm-eval's own configs (includes resolved) of a task, or of every task of a group."""
    from lm_eval.tasks._yaml_loader import load_yaml

    entry = index[name]
    if getattr(entry.kind, "name", str(entry.kind)) == "GROUP":
        return {leaf: cfg for sub in entry.cfg["task"] for leaf, cfg in _leaf_configs(sub, index).items()}
    return {name: load_yaml(entry.yaml_path, resolve_func=False)}


def test_open_llm_v2_is_lm_evals_leaderboard_tasks_at_v2s_settings(index: dict, bundled: set[str]) -> None:
    path = REPO / "eval" / "suites" / "open_llm_v2.yaml"
    suite = load_suite("open_llm_v2", REPO)
    assert [b.task for b in suite.benchmarks] == [
        "leaderboard_ifeval",
        "leaderboard_bbh",
        "leaderboard_math_hard",
        "leaderboard_gpqa",
        "leaderboard_musr",
        "leaderboard_mmlu_pro",
    ]
    assert check_suite(suite, path, index, bundled) == []  # names exist, metrics reported
    assert [b.num_fewshot for b in suite.benchmarks] == [0, 3, 4, 0, 0, 5]  # v2's shots
    for bench in suite.benchmarks:
        leaves = _leaf_configs(str(bench.task), index)
        for leaf, cfg in leaves.items():
            assert (cfg.get("num_fewshot") or 0) == bench.num_fewshot, leaf
            assert cfg["metadata"]["version"] == bench.version, leaf
            names = {m["metric"] for m in cfg["metric_list"]}
            assert {bench.metric, *bench.also_metrics} <= names, leaf
        if bench.subtask_baselines:  # every subtask has its own random baseline, and nothing else does
            assert set(bench.subtask_baselines) == set(leaves)
            for leaf, cfg in leaves.items():
                if isinstance(cfg.get("doc_to_choice"), list):
                    assert bench.subtask_baselines[leaf] == pytest.approx(100 / len(cfg["doc_to_choice"]), abs=1e-3)
    assert suite.average_of == "normalized" and suite.fewshot_as_multiturn and suite.chat_template == "chat_models"
    assert suite.uses_chat_template(False, "chat") and not suite.uses_chat_template(False, "pretrained")


def test_a_suite_metric_lm_eval_does_not_report_is_named(index: dict, bundled: set[str]) -> None:
    suite = load_suite("open_llm_v2", REPO)
    bad = suite.model_copy(update={"benchmarks": [suite.benchmarks[0].model_copy(update={"also_metrics": ["nope"]})]})
    (problem,) = check_suite(bad, Path("v2.yaml"), index, bundled)
    assert problem.startswith(
        "v2.yaml: field 'benchmarks.0.also_metrics': task 'leaderboard_ifeval' does not report 'nope'"
    )
