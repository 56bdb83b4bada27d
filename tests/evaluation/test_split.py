"""One request's tasks split over runners: splits + merge give the unsplit run's results file."""

from __future__ import annotations

import functools
import json
import operator
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shlepa.cli import app
from shlepa.evaluation.split import SplitError, merge_split, parse_split, plan_split
from shlepa.records.details import load_shared, read_model_details
from shlepa.records.keys import details_key
from shlepa.records.request import Status, load_request

from support.gitboard import clone, git
from support.requests import evaluate_args, submit

runner = CliRunner()
# ARC (a task) and MMLU (a group of 57 subjects, split across runners).
BENCHMARKS = ["--benchmark", "arc", "--benchmark", "mmlu"]
LIMIT = "1"
#: Batch size 1: every loglikelihood is computed alone, so even the per-sample details are
#: bit-identical (other batch compositions change padding and float rounding at ~1e-6).
BATCH = 1
#: Fields that may differ between a merged and an unsplit results file: when and where it ran.
TIMING = {"started_at", "finished_at", "duration_s", "runner", "run_url", "splits"}
LM_EVAL_TIMING = {"date", "start_time", "end_time", "total_evaluation_time_seconds"}


def run_cli(root: Path, model_dir: Path, request: Path, *extra: str):
    args = evaluate_args(root, request, model_dir, BATCH, "--limit", LIMIT, *BENCHMARKS, *extra)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


def lm_eval_of(results_file: Path) -> dict:
    data = json.loads(results_file.read_text())
    header = read_model_details(results_file.parent / data["details_file"], load_shared(results_file.parents[3]))
    return {**data["lm_eval"], **header.lm_eval}


def details(results_file: Path) -> list[dict]:
    """The per-sample rows, joined with their shared text (results/<org>/<name>/: the root is 3 up)."""
    data = json.loads(results_file.read_text())
    shared = load_shared(results_file.parents[3])
    return read_model_details(results_file.parent / data["details_file"], shared).full_rows()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> dict[str, Path]:
    """One unsplit run and two splits of the same request, merged."""
    root = tmp_path_factory.mktemp("board")
    (root / "eval").symlink_to(Path(__file__).resolve().parents[2] / "eval", target_is_directory=True)
    request = submit(root, tiny_model_dir)
    rel = request.relative_to(root)
    plain = run_cli(root, tiny_model_dir, request)
    split_dir = root / "split-out"
    split_files = [
        run_cli(root, tiny_model_dir, request, "--split", f"{i}/2", "--split-dir", str(split_dir)) for i in range(2)
    ]
    assert not list((root / "results").rglob("split_*")), "a split never lands under results/"
    # the request was FINISHED by the plain run; put it back to RUNNING as the workflow's claim leaves it
    req = load_request(request)
    from shlepa.records.request import save_request

    save_request(req.with_status(Status.running, "claimed", runner="split"), root)
    merged = runner.invoke(app, ["merge-split", str(split_dir), "--root", str(root)])
    assert merged.exit_code == 0, merged.output
    status, merged_rel = merged.stdout.strip().split("\t")[:2]
    return {
        "root": root,
        "request": rel,
        "plain": plain,
        "merged": root / merged_rel,
        "status": Path(status),
        "split_dir": split_dir,
        "splits": split_files,
    }


@pytest.mark.slow
def test_merged_splits_equal_an_unsplit_run(runs: dict[str, Path]) -> None:
    plain, merged = json.loads(runs["plain"].read_text()), json.loads(runs["merged"].read_text())
    assert runs["plain"] != runs["merged"]
    assert set(plain) == set(merged)
    for key in plain:
        if key in ("evaluation", "lm_eval", "details_file", "details_sha256"):  # each its own file
            continue
        if key == "reproduce":  # each names its own file: `shlepa reproduce results/.../results_<time>.json`
            root = runs["root"]
            assert plain[key].pop("shlepa") == f"shlepa reproduce {runs['plain'].relative_to(root)}"
            assert merged[key].pop("shlepa") == f"shlepa reproduce {runs['merged'].relative_to(root)}"
        assert merged[key] == plain[key], key
    for key in set(plain["evaluation"]) | set(merged["evaluation"]):
        if key not in TIMING:
            assert merged["evaluation"].get(key) == plain["evaluation"].get(key), key
    assert [s["index"] for s in merged["evaluation"]["splits"]] == [0, 1]
    # lm-eval's whole output: the slim part on main and the rest in the details header
    lm_plain, lm_merged = lm_eval_of(runs["plain"]), lm_eval_of(runs["merged"])
    for key in (
        "results",
        "groups",
        "group_subtasks",
        "configs",
        "versions",
        "n-shot",
        "higher_is_better",
        "n-samples",
    ):
        assert lm_merged[key] == lm_plain[key], key
        assert list(lm_merged[key]) == list(lm_plain[key]), f"{key}: same order"
    for key in set(lm_plain) | set(lm_merged):
        if key not in LM_EVAL_TIMING:
            assert lm_merged.get(key) == lm_plain.get(key), key
    assert merged["scores"] == plain["scores"] and merged["average"] == plain["average"]
    assert details(runs["merged"]) == details(runs["plain"])


@pytest.mark.slow
def test_the_plan_splits_mmlu_across_runners_and_the_request_is_finished(runs: dict[str, Path]) -> None:
    plans = [json.loads(p.read_text())["split"]["plan"] for p in runs["splits"]]
    assert plans[0] == plans[1]
    holding_mmlu = [i for i, tasks in enumerate(plans[0]) if any(t.startswith("shlepa_mmlu_") for t in tasks)]
    assert len(holding_mmlu) >= 2
    assert sorted(t for tasks in plans[0] for t in tasks) == sorted(
        ["shlepa_arc_challenge", *json.loads(runs["merged"].read_text())["lm_eval"]["group_subtasks"]["shlepa_mmlu"]]
    )
    req = load_request(runs["root"] / runs["request"])
    assert req.status == Status.finished and "merged from 2 splits" in req.history[-1].reason


@pytest.mark.slow
def test_missing_duplicate_and_foreign_splits_are_errors_naming_the_file(runs: dict[str, Path], tmp_path: Path) -> None:
    root = runs["root"]
    s0, s1 = runs["splits"]

    def copy(*files: Path) -> Path:
        folder = tmp_path / f"set{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        for f in files:
            shutil.copy(f, folder / f.name)
            shutil.copy(f.parent / json.loads(f.read_text())["details_file"], folder)
        return folder

    with pytest.raises(SplitError, match=r"missing split\(s\) split_0_of_2.json"):
        merge_split(root, [copy(s1)])

    dup = copy(s0, s1)
    (dup / "again").mkdir()
    shutil.copy(s1, dup / "again" / s1.name)
    with pytest.raises(SplitError, match=r"split_1_of_2.json: duplicate split 1/2 \(also .*split_1_of_2.json\)"):
        merge_split(root, [dup])

    foreign = copy(s0, s1)
    data = json.loads((foreign / s1.name).read_text())
    data["split"]["precision"] = "bfloat16"
    (foreign / s1.name).write_text(json.dumps(data))
    with pytest.raises(SplitError, match=r"split_1_of_2.json: field 'split.precision'"):
        merge_split(root, [foreign])

    other_limit = copy(s0, s1)
    data = json.loads((other_limit / s1.name).read_text())
    data["split"]["settings"]["limit"] = 2
    (other_limit / s1.name).write_text(json.dumps(data))
    with pytest.raises(SplitError, match=r"split_1_of_2.json: field 'split.settings.limit'"):
        merge_split(root, [other_limit])

    before = sorted((root / "results").rglob("*"))
    result = runner.invoke(app, ["merge-split", str(copy(s0)), "--root", str(root)])
    assert result.exit_code == 1 and "missing split(s)" in result.output
    assert sorted((root / "results").rglob("*")) == before, "a failed merge writes nothing"


def test_the_planner_balances_cost_and_keeps_the_suite_order() -> None:
    costs = [("a", 10), ("b", 1), ("c", 6), ("d", 5), ("e", 1)]
    plan = plan_split(costs, 2)
    assert sorted(functools.reduce(operator.iadd, plan, [])) == ["a", "b", "c", "d", "e"]
    loads = sorted(sum(c for n, c in costs if n in part) for part in plan)
    assert loads == [11, 12]
    assert all(part == [n for n, _ in costs if n in part] for part in plan)
    assert plan_split(costs, 2) == plan  # deterministic: every split job computes the same plan
    assert plan_split([("a", 1)], 3) == [["a"], [], []]


def test_a_part_past_the_request_time_limit_fails_and_writes_no_split_file(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch
) -> None:
    """runner.request_timeout_minutes holds for each part of a split (shortened here to 1.2 s):
    a part stuck loading its model is interrupted, says why, and leaves nothing to merge."""
    # (The limit may strike while lm-eval still loads the tasks, where a library may catch
    # and drop the first signal: the watchdog sends again until the part has stopped.)
    import time

    import shlepa.cli.evaluate as cli_evaluate
    import shlepa.evaluation.split as split_module
    from shlepa.config import load_settings

    root = tmp_path / "board"
    root.mkdir()
    (root / "eval").symlink_to(Path(__file__).resolve().parents[2] / "eval", target_is_directory=True)
    request = submit(root, tiny_model_dir)
    settings = load_settings(root)
    short = settings.model_copy(update={"runner": settings.runner.model_copy(update={"request_timeout_minutes": 0.02})})
    monkeypatch.setattr(cli_evaluate, "load_settings", lambda _root: short)
    monkeypatch.setattr(split_module, "create_lm", lambda *a: time.sleep(60))
    split_dir = tmp_path / "split-out"
    args = evaluate_args(root, request, tiny_model_dir, BATCH, "--limit", LIMIT, *BENCHMARKS)
    started = time.monotonic()
    result = runner.invoke(app, [*args, "--split", "0/2", "--split-dir", str(split_dir)])
    assert time.monotonic() - started < 50  # interrupted, not slept out (wherever the limit struck)
    assert result.exit_code == 1
    assert "split 0/2" in result.output and "exceeded" in result.output
    assert "request_timeout_minutes" in result.output
    assert not split_dir.exists() or not list(split_dir.iterdir())


@pytest.mark.parametrize("text", ["3/3", "1", "-1/2", "a/b", "0/0", "0/999"])
def test_a_bad_split_spec_is_a_clear_error(text: str) -> None:
    with pytest.raises(SplitError, match="expected I/N"):
        parse_split(text)
    assert parse_split("2/4") == (2, 4)


@pytest.mark.slow
def test_merge_commits_results_and_the_finished_request_in_one_pushed_commit(
    runs: dict[str, Path], git_board, tmp_path: Path
) -> None:
    remote, seed = git_board
    rel = runs["request"]
    (seed / rel).parent.mkdir(parents=True)
    _claim_on_remote(runs, seed)
    work = clone(remote, tmp_path / "merge-job")
    before = git(work, "rev-parse", "HEAD").strip()

    result = runner.invoke(
        app, ["merge-split", str(runs["split_dir"]), "--request", str(rel), "--root", str(work), "--commit", "--push"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("FINISHED\t")
    log = git(work, "log", "--format=%s", f"{before}..origin/main").splitlines()
    assert len(log) == 1, log
    changed = git(work, "show", "--name-only", "--format=", "origin/main").split()
    assert str(rel) in changed
    assert sum(p.startswith("results/") and "/results_" in p for p in changed) == 1
    assert not any("/details_" in p for p in changed), "details go to the details branch, not main"
    (results_rel,) = [p for p in changed if "/results_" in p]
    digest = json.loads(git(work, "show", f"origin/main:{results_rel}"))["details_sha256"]
    assert git(remote, "cat-file", "-t", f"details:{details_key(digest)}").strip() == "blob"
    assert not any("split" in p for p in changed)
    assert load_request(work / rel).status == Status.finished


def _claim_on_remote(runs: dict[str, Path], seed: Path) -> None:
    """Commit the request as RUNNING on the remote, as the workflow's plan job does."""
    from shlepa.records.request import save_request

    req = load_request(runs["root"] / runs["request"])
    save_request(req.with_status(Status.running, "claimed", runner="split-1"), seed)
    git(seed, "add", "requests")
    git(seed, "commit", "--quiet", "-m", "claim")
    git(seed, "push", "--quiet", "origin", "HEAD:main")


@pytest.mark.slow
def test_a_merge_that_cannot_happen_fails_the_request_in_a_pushed_commit(
    runs: dict[str, Path], git_board, tmp_path: Path
) -> None:
    remote, seed = git_board
    rel = runs["request"]
    _claim_on_remote(runs, seed)
    work = clone(remote, tmp_path / "merge-job")
    only_one = tmp_path / "partial"
    only_one.mkdir()
    s0 = runs["splits"][0]
    shutil.copy(s0, only_one / s0.name)

    result = runner.invoke(
        app, ["merge-split", str(only_one), "--request", str(rel), "--root", str(work), "--commit", "--push"]
    )
    assert result.exit_code == 1 and "missing split(s) split_1_of_2.json" in result.output
    git(work, "fetch", "--quiet", "origin")
    failed = load_request(work / rel)
    assert failed.status == Status.failed and failed.failure.error_class == "SplitMergeError"
    assert "split_1_of_2.json" in failed.failure.message
    assert git(work, "status", "--porcelain").strip() == ""
    assert not list(work.glob("results/**/*.json")), "nothing half-merged is committed"


@pytest.mark.slow
def test_a_merge_under_another_runs_claim_commits_nothing(runs: dict[str, Path], git_board, tmp_path: Path) -> None:
    """The workflow's merge job passes the plan job's claim: a request another run holds is left alone."""
    remote, seed = git_board
    rel = runs["request"]
    _claim_on_remote(runs, seed)  # held by "split-1"
    work = clone(remote, tmp_path / "merge-job")
    before = git(remote, "rev-parse", "main").strip()
    args = ["merge-split", str(runs["split_dir"]), "--request", str(rel), "--root", str(work)]
    result = runner.invoke(app, [*args, "--claim", "run-9.1", "--commit", "--push"])
    assert result.exit_code == 1 and "claimed by 'split-1', not by this run's claim 'run-9.1'" in result.output
    assert git(remote, "rev-parse", "main").strip() == before
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "split_0_of_2.json").symlink_to(runs["splits"][0])
    refused = runner.invoke(app, [*args[:1], str(linked), *args[2:], "--claim", "split-1", "--commit", "--push"])
    assert refused.exit_code == 1 and "a symlink in the hand-off" in refused.output
    assert git(remote, "rev-parse", "main").strip() == before
