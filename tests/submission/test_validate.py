"""Every submission check, run with the real huggingface_hub/transformers code against the fake Hub."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shlepa.config import HubRetry, ValidationSettings
from shlepa.records.request import new_request, save_request
from shlepa.submission.checklist import Outcome
from shlepa.submission.hub import Hub
from shlepa.submission.validate import Options, validate_changes, validate_paths


def _hub(fake_hub) -> Hub:
    return Hub(endpoint=fake_hub.endpoint, retry=HubRetry(attempts=3, base_delay_s=0, timeout_s=1))


def _request(fake_hub, board: Path, model: str, *, precision="bfloat16", submitter="alice", **kw) -> Path:
    sha = fake_hub.repos[model].sha
    req = new_request(
        model, sha, precision, kw.pop("model_type", "pretrained"), kw.pop("license", "apache-2.0"), submitter, **kw
    )
    return save_request(req, board)


def _run(fake_hub, board, paths, settings=None):
    opts = Options(settings=settings or ValidationSettings(), hub=_hub(fake_hub))
    return validate_paths(board, paths, opts)


def _failed(checklist) -> dict[str, str]:
    return {c.name: c.message for c in checklist.checks if c.status == Outcome.failed}


def test_good_model_passes_every_check(fake_hub, board):
    path = _request(fake_hub, board, "org/good", use_chat_template=True, params=0.0)
    cl = _run(fake_hub, board, [path])
    assert cl.ok, [c.line() for c in cl.problems()]
    names = {c.name for c in cl.checks}
    for expected in [
        "schema",
        "placement",
        "model on the Hub",
        "revision",
        "safetensors",
        "no remote code",
        "config",
        "architecture",
        "tokenizer",
        "chat template",
        "model card",
        "license",
        "parameters",
        "precision",
    ]:
        assert expected in names
    assert all(c.file == str(path.relative_to(board)) for c in cl.checks)


@pytest.mark.parametrize(
    ("model", "check", "words"),
    [
        ("org/gated", "model is public", "gated"),
        ("org/remote-code", "no remote code", "trust_remote_code"),
        ("org/pickle-only", "safetensors", "pickle"),
        ("org/no-card", "model card", "no model card"),
        ("org/short-card", "model card", "at least 200"),
        ("org/closed-license", "license", "not on the open-license list"),
        ("org/too-big", "parameters", "above the limit"),
        ("org/unknown-arch", "architecture", "FrobnicatorForCausalLM"),
        ("org/no-chat", "chat template", "no chat template"),
    ],
)
def test_each_failure_kind_is_reported(fake_hub, board, model, check, words):
    path = _request(fake_hub, board, model, use_chat_template=True)
    cl = _run(fake_hub, board, [path])
    assert not cl.ok
    failed = _failed(cl)
    assert check in failed, [c.line() for c in cl.problems()]
    assert words in failed[check]
    fix = next(c.how_to_fix for c in cl.checks if c.name == check and c.status == Outcome.failed)
    assert fix


def test_remote_code_is_never_executed(fake_hub, board):
    # configuration_x.py would raise SystemExit if imported; it is never even downloaded.
    _run(fake_hub, board, [_request(fake_hub, board, "org/remote-code")])
    assert not any(p.endswith("configuration_x.py") for _, p in fake_hub.requests)


def test_weights_are_never_downloaded_only_headers(fake_hub, board):
    _run(fake_hub, board, [_request(fake_hub, board, "org/good")])
    reads = [rng for name, rng in fake_hub.ranges if name == "model.safetensors"]
    assert reads and all(rng and rng.startswith("bytes=") for rng in reads)
    assert "pytorch_model.bin" not in str(fake_hub.requests)


def test_private_and_missing_models_and_unknown_revision(fake_hub, board):
    path = _request(fake_hub, board, "org/good")
    text = path.read_text().replace(fake_hub.repos["org/good"].sha, "f" * 40)
    bad_rev = board / "requests/org/good" / f"{'f' * 40}_bfloat16.yaml"
    bad_rev.write_text(text)
    priv = _request(fake_hub, board, "org/private")
    cl = _run(fake_hub, board, [bad_rev, priv])
    lines = [c.line() for c in cl.problems()]
    assert any("does not exist in org/good" in line and "revision" in line for line in lines)
    assert any("org/private does not exist or is private" in line for line in lines)


def test_precision_mismatch_is_a_warning_not_a_failure(fake_hub, board):
    cl = _run(fake_hub, board, [_request(fake_hub, board, "org/good", precision="float16")])
    warn = [c for c in cl.checks if c.name == "precision"]
    assert warn and warn[0].status == Outcome.warning and "NaN" in warn[0].message
    assert cl.ok


def test_adapter_base_model_gets_the_same_checks(fake_hub, board):
    path = _request(fake_hub, board, "org/good", weight_type="delta", base_model="org/closed-license")
    cl = _run(fake_hub, board, [path])
    assert "base model: license" in _failed(cl)


def test_optout_and_quota(fake_hub, board):
    settings = ValidationSettings(optout_orgs=["OptOut-Org"], max_open_requests_per_submitter=1)
    a = _request(fake_hub, board, "optout-org/model")
    b = _request(fake_hub, board, "org/good")
    failed = _failed(_run(fake_hub, board, [a, b], settings))
    assert "opt-out" in failed and "quota" in failed and "2 open requests (limit 1)" in failed["quota"]


@pytest.mark.parametrize("kind", ["500", "429", "drop", "slow"])
def test_hub_outage_is_could_not_verify_not_the_authors_fault(fake_hub, board, kind):
    path = _request(fake_hub, board, "org/good")
    fake_hub.slow_s = 1.5
    fake_hub.set_outage(kind)
    cl = _run(
        fake_hub, board, [path], ValidationSettings(hub_retry=HubRetry(attempts=2, base_delay_s=0, timeout_s=0.5))
    )
    assert not cl.ok
    assert not any(c.status == Outcome.failed for c in cl.checks)
    unverified = cl.by(Outcome.unverified)
    assert unverified and "could not verify" in unverified[0].message
    assert "Could not verify" in cl.to_markdown()


def test_transient_outage_is_retried_and_then_passes(fake_hub, board):
    path = _request(fake_hub, board, "org/good")
    fake_hub.set_outage("500", count=2)
    cl = _run(fake_hub, board, [path])
    assert cl.ok, [c.line() for c in cl.problems()]


# -- PR mode: git diff BASE...HEAD ---------------------------------------------------
def _git(board: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(board), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def git_board(board: Path) -> Path:
    _git(board, "init", "-q", "-b", "main")
    _git(board, "config", "user.email", "t@example.com")
    _git(board, "config", "user.name", "t")
    (board / "eval/suites/keep").write_text("")
    _git(board, "add", "-A")
    _git(board, "commit", "-qm", "base")
    return board


def _commit(board: Path, msg: str) -> None:
    _git(board, "add", "-A")
    _git(board, "commit", "-qm", msg)


def test_pr_touching_other_files_fails_and_lists_all_problems(fake_hub, git_board):
    _git(git_board, "switch", "-qc", "pr")
    _request(fake_hub, git_board, "org/good")
    (git_board / "results").mkdir()
    (git_board / "results/fake.json").write_text("{}")
    (git_board / ".github/workflows").mkdir(parents=True)
    (git_board / ".github/workflows/evil.yml").write_text("on: push")
    _commit(git_board, "pr")
    cl = validate_changes(git_board, "main...pr", Options(settings=ValidationSettings(), hub=None))
    bad = {c.file for c in cl.checks if c.name == "only request files" and c.status == Outcome.failed}
    assert bad == {"results/fake.json", ".github/workflows/evil.yml"}
    assert any(c.name == "schema" and c.status == Outcome.passed for c in cl.checks)


def test_duplicate_active_request_is_rejected_with_a_link(fake_hub, git_board):
    path = _request(fake_hub, git_board, "org/good")
    _commit(git_board, "existing request")
    _git(git_board, "switch", "-qc", "pr")
    path.write_text(path.read_text().replace("submitter: alice", "submitter: bob"))
    _commit(git_board, "pr")
    opts = Options(settings=ValidationSettings(), hub=None, repo_url="https://github.com/o/b/blob/main")
    failed = _failed(validate_changes(git_board, "main...pr", opts))
    assert "https://github.com/o/b/blob/main/requests/org/good/" in failed["duplicate"]
    assert "already PENDING" in failed["duplicate"]


def test_editing_someone_elses_request_fails(fake_hub, git_board):
    path = _request(fake_hub, git_board, "org/good")
    text = path.read_text().replace("status: PENDING", "status: FAILED", 1)
    path.write_text(text)
    _commit(git_board, "a failed request of alice")
    _git(git_board, "switch", "-qc", "pr")
    path.write_text(text.replace("status: FAILED", "status: PENDING", 1))
    _commit(git_board, "resubmit")
    ok = validate_changes(git_board, "main...pr", Options(settings=ValidationSettings(), hub=None, pr_author="alice"))
    assert ok.ok and any(c.name == "duplicate" and "resubmission" in c.message for c in ok.checks)
    other = validate_changes(
        git_board, "main...pr", Options(settings=ValidationSettings(), hub=None, pr_author="mallory")
    )
    assert "other people's requests" in _failed(other)


def test_new_commit_of_same_model_is_accepted_as_resubmission(fake_hub, git_board):
    _request(fake_hub, git_board, "org/good")
    _commit(git_board, "first")
    _git(git_board, "switch", "-qc", "pr")
    old = fake_hub.repos["org/good"]
    new_sha = "b" * 40
    req = new_request("org/good", new_sha, "bfloat16", "pretrained", "apache-2.0", "alice")
    save_request(req, git_board)
    _commit(git_board, "new commit")
    cl = validate_changes(git_board, "main...pr", Options(settings=ValidationSettings(), hub=None))
    dup = next(c for c in cl.checks if c.name == "duplicate")
    assert dup.status == Outcome.passed and old.sha[:12] in dup.message


def test_validator_writes_nothing_to_the_repository(fake_hub, git_board):
    _request(fake_hub, git_board, "org/remote-code")
    _commit(git_board, "req")
    before = _git(git_board, "status", "--porcelain", "--ignored")
    _run(fake_hub, git_board, [next((git_board / "requests").rglob("*.yaml"))])
    assert _git(git_board, "status", "--porcelain", "--ignored") == before


def test_cli_validate_writes_markdown_and_exits_1_on_failure(fake_hub, board, tmp_path):
    from typer.testing import CliRunner

    from shlepa.cli import app

    _request(fake_hub, board, "org/pickle-only")
    md = tmp_path / "out" / "checklist.md"
    res = CliRunner().invoke(
        app, ["validate", "--root", str(board), "--hub-endpoint", fake_hub.endpoint, "--markdown", str(md)]
    )
    assert res.exit_code == 1 and "pickle" in res.output
    assert "❌" in md.read_text() and "safetensors" in md.read_text()


def test_a_tokenizer_over_the_size_limit_is_refused_before_parsing(fake_hub, board, monkeypatch):
    import transformers

    parsed = []
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: parsed.append(a))
    path = _request(fake_hub, board, "org/good")
    failed = _failed(_run(fake_hub, board, [path], ValidationSettings(max_tokenizer_mb=0.0001)))
    assert "config and tokenizer" in failed
    assert (
        "tokenizer.json" in failed["config and tokenizer"] and "larger than 0.0001 MB" in failed["config and tokenizer"]
    )
    assert parsed == []  # refused before any parsing


# -- #15 item 3: a new request is what `shlepa submit` writes, by the PR's author ---------
def _forged(fake_hub, board: Path, model: str = "org/good", submitter: str = "alice") -> Path:
    """The issue's attack: another submitter, an old submitted_at, a history and failure a runner never wrote."""
    path = _request(fake_hub, board, model, submitter=submitter)
    sha = fake_hub.repos[model].sha
    path.write_text(
        f"""model: {model}
revision: {sha}
precision: bfloat16
model_type: pretrained
license: apache-2.0
submitter: {submitter}
submitted_at: '1970-01-01T00:00:00Z'
status: PENDING
history:
- {{at: '1970-01-01T00:00:00Z', status: FINISHED, reason: approved by maintainers}}
- {{at: '2099-01-01T00:00:00Z', status: PENDING, reason: requeued, runner: root}}
failure:
  error_class: Oops
  message: see the log
  log_url: https://evil.example/phish
"""
    )
    return path


def test_the_forged_request_of_the_issue_fails_with_one_message_per_problem(fake_hub, git_board):
    _git(git_board, "switch", "-qc", "pr")
    _forged(fake_hub, git_board)
    _commit(git_board, "pr")
    cl = validate_changes(git_board, "main...pr", Options(settings=ValidationSettings(), hub=None, pr_author="mallory"))
    failed = _failed(cl)
    assert not cl.ok
    assert "'alice' but the PR author is 'mallory'" in failed["submitter"]
    assert "1970-01-01" in failed["submitted_at"] and "merged" in failed["submitted_at"]
    assert "FINISHED" in failed["history entry 1"] and "approved by maintainers" in failed["history entry 1"]
    assert "2099-01-01" in failed["history entry 2"] and "one entry too many" in failed["history entry 2"]
    assert "https://evil.example/phish" in failed["failure"]
    assert all("written by the runners" in failed[k] for k in ("history entry 1", "history entry 2", "failure"))


def test_a_request_written_by_shlepa_submit_from_its_author_passes_the_shape_checks(fake_hub, git_board):
    _git(git_board, "switch", "-qc", "pr")
    _request(fake_hub, git_board, "org/good", submitter="Alice")
    _commit(git_board, "pr")
    cl = validate_changes(git_board, "main...pr", Options(settings=ValidationSettings(), hub=None, pr_author="alice"))
    assert cl.ok, [c.line() for c in cl.problems()]


def test_a_submitted_entry_naming_a_runner_fails(fake_hub, git_board):
    _git(git_board, "switch", "-qc", "pr")
    path = _request(fake_hub, git_board, "org/good")
    path.write_text(path.read_text().replace("reason: submitted", "reason: submitted\n  runner: root"))
    _commit(git_board, "pr")
    failed = _failed(
        validate_changes(git_board, "main...pr", Options(settings=ValidationSettings(), hub=None, pr_author="alice"))
    )
    assert "names a runner" in failed["history entry 1"]


def test_seven_requests_with_seven_invented_submitters_count_for_their_author(fake_hub, git_board):
    _git(git_board, "switch", "-qc", "pr")
    for i in range(7):
        req = new_request("org/good", f"{i:x}" * 40, "bfloat16", "pretrained", "apache-2.0", f"sock{i}")
        save_request(req, git_board)
    _commit(git_board, "seven")
    cl = validate_changes(git_board, "main...pr", Options(settings=ValidationSettings(), hub=None, pr_author="mallory"))
    quota = [c for c in cl.checks if c.name == "quota"]
    submitter = [c for c in cl.checks if c.name == "submitter"]
    assert len(quota) == 7 and all(c.status == Outcome.failed for c in quota)
    assert all("mallory has 7 open requests (limit 5)" in c.message for c in quota)
    assert len(submitter) == 7 and all(c.status == Outcome.failed for c in submitter)


def test_a_resubmission_may_not_rewrite_the_runners_history(fake_hub, git_board):
    path = _request(fake_hub, git_board, "org/good")
    text = path.read_text().replace("status: PENDING", "status: FAILED", 1)
    path.write_text(text)
    _commit(git_board, "a failed request of alice")
    _git(git_board, "switch", "-qc", "pr")
    path.write_text(text.replace("status: FAILED", "status: PENDING", 1).replace("reason: submitted", "reason: x"))
    _commit(git_board, "resubmit with another history")
    failed = _failed(
        validate_changes(git_board, "main...pr", Options(settings=ValidationSettings(), hub=None, pr_author="alice"))
    )
    assert "rewrites the request's history" in failed["history"]


# -- #15 item 3: only added or edited regular files; Hub ids compared case-insensitively ----
@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("delete", "deletes the file (git status D)"),
        ("symlink", "changes the type of the file (git status T)"),
        ("executable", "is an executable file"),
        ("rename", "deletes the file (git status D)"),
    ],
)
def test_every_change_but_add_or_edit_of_a_regular_file_fails(fake_hub, git_board, change, words):
    path = _request(fake_hub, git_board, "org/good")
    _commit(git_board, "existing request")
    _git(git_board, "switch", "-qc", "pr")
    if change == "delete":
        path.unlink()
    elif change == "symlink":
        path.unlink()
        path.symlink_to("/etc/passwd")
    elif change == "executable":
        path.chmod(0o755)
    else:
        path.rename(path.with_name("0" * 40 + "_bfloat16.yaml"))
    _commit(git_board, change)
    cl = validate_changes(git_board, "main...pr", Options(settings=ValidationSettings(), hub=None, pr_author="alice"))
    messages = [c.message for c in cl.checks if c.name == "only request files" and c.status == Outcome.failed]
    assert not cl.ok and any(words in m for m in messages), [c.line() for c in cl.checks]


def test_a_new_symlinked_request_fails_on_its_mode(fake_hub, git_board):
    _git(git_board, "switch", "-qc", "pr")
    path = _request(fake_hub, git_board, "org/good")
    path.unlink()
    path.symlink_to("/etc/hostname")
    _commit(git_board, "symlink")
    cl = validate_changes(git_board, "main...pr", Options(settings=ValidationSettings(), hub=None, pr_author="alice"))
    assert "is a symbolic link" in _failed(cl)["only request files"]


def test_duplicates_compare_hub_ids_case_insensitively(fake_hub, git_board):
    _request(fake_hub, git_board, "org/good")
    _commit(git_board, "existing request")
    _git(git_board, "switch", "-qc", "pr")
    sha = fake_hub.repos["org/good"].sha
    save_request(new_request("Org/Good", sha, "bfloat16", "pretrained", "apache-2.0", "alice"), git_board)
    _commit(git_board, "same model, other case")
    failed = _failed(
        validate_changes(git_board, "main...pr", Options(settings=ValidationSettings(), hub=None, pr_author="alice"))
    )
    assert "already PENDING" in failed["duplicate"]


# -- #15 item 3: parser bombs in config.json are one clear failure, not a traceback -------
@pytest.mark.parametrize(
    ("model", "words"),
    [("org/deep-config", "config.json: is nested more than 100 levels deep"), ("org/huge-number", "number too long")],
)
def test_a_config_bomb_is_a_clear_failure_naming_the_file(fake_hub, board, model, words):
    path = _request(fake_hub, board, model)
    failed = _failed(_run(fake_hub, board, [path]))
    assert words in failed["config"] and "refused before parsing" in failed["config"]


def test_the_bounded_parser_catches_what_the_depth_scan_lets_through():
    from shlepa.submission.hub import BadFile, parse_json_bounded

    assert parse_json_bounded(b'{"a": ["[[[[", {"b": 1}]}', "x.json", 100, 3) == {"a": ["[[[[", {"b": 1}]}
    with pytest.raises(BadFile, match=r"x.json: is nested too deeply"):
        parse_json_bounded(b"[" * 50_000 + b"]" * 50_000, "x.json", 1_000_000, 10**6)
    with pytest.raises(BadFile, match=r"x.json: holds a number too long"):
        parse_json_bounded(b"9" * 5000, "x.json", 1_000_000, 100)
    with pytest.raises(BadFile, match=r"x.json: is larger than 10 bytes"):
        parse_json_bounded(b"[1, 2, 3, 4, 5]", "x.json", 10, 100)


# -- #15 item 4: the chat template is rendered once, under a time limit ----------------
def test_a_chat_template_that_renders_for_hours_fails_validation_in_seconds(fake_hub, board):
    import time

    path = _request(fake_hub, board, "org/slow-chat-template", use_chat_template=True)
    t0 = time.perf_counter()
    failed = _failed(_run(fake_hub, board, [path], ValidationSettings(chat_template_timeout_s=1)))
    assert failed["chat template"] == "the chat template took longer than 1 s to render"
    assert time.perf_counter() - t0 < 60


def test_the_good_chat_template_renders_within_the_limit(fake_hub, board):
    path = _request(fake_hub, board, "org/good", use_chat_template=True)
    chat = next(c for c in _run(fake_hub, board, [path]).checks if c.name == "chat template")
    assert chat.status == Outcome.passed and "renders a conversation in" in chat.message


def test_a_chat_template_that_raises_fails_with_its_error(tmp_path):
    from transformers import PreTrainedTokenizerFast

    from shlepa.submission.chat_render import render_once

    from fakes.hub_models import tokenizer_files

    for name, data in tokenizer_files().items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "chat_template.jinja").write_text("{{ raise_exception('no system role, sorry') }}")
    assert PreTrainedTokenizerFast.from_pretrained(tmp_path).chat_template
    outcome = render_once(tmp_path, 30)
    assert not outcome.ok and "no system role, sorry" in outcome.message


# -- #15 item 7: adapters: pickle weights fail; the base model is pinned -------------------
def test_an_adapter_with_only_a_pickle_adapter_model_bin_fails(fake_hub, board):
    base = fake_hub.repos["org/base"].sha
    path = _request(
        fake_hub, board, "org/pickle-adapter", weight_type="adapter", base_model="org/base", base_revision=base
    )
    failed = _failed(_run(fake_hub, board, [path]))
    assert "pickle" in failed["safetensors"]


def test_an_adapter_passes_only_with_adapter_model_safetensors_not_another_safetensors_file(fake_hub, board):
    from fakes.hub_models import card, weights

    fake_hub.add(
        "org/decoy-adapter",
        {
            "adapter_config.json": b"{}",
            "adapter_model.bin": b"PK\x03\x04 pickle",
            "decoy.safetensors": weights(),
            "README.md": card("mit", "adapter"),
        },
        card_data={"license": "mit"},
    )
    base = fake_hub.repos["org/base"].sha
    path = _request(
        fake_hub, board, "org/decoy-adapter", weight_type="adapter", base_model="org/base", base_revision=base
    )
    assert "pickle" in _failed(_run(fake_hub, board, [path]))["safetensors"]
    good = _request(fake_hub, board, "org/adapter", weight_type="adapter", base_model="org/base", base_revision=base)
    cl = _run(fake_hub, board, [good])
    assert cl.ok, [c.line() for c in cl.problems()]
    assert any(c.name == "base model: revision" and c.status == Outcome.passed for c in cl.checks)


def test_an_adapter_without_a_pinned_base_revision_fails(fake_hub, board):
    path = _request(fake_hub, board, "org/adapter", weight_type="adapter", base_model="org/base")
    failed = _failed(_run(fake_hub, board, [path]))
    assert "base_revision" in failed["base model revision"]


def test_a_base_revision_that_is_not_the_base_models_commit_fails(fake_hub, board):
    path = _request(
        fake_hub, board, "org/adapter", weight_type="adapter", base_model="org/base", base_revision="c" * 40
    )
    failed = _failed(_run(fake_hub, board, [path]))
    assert "base model: revision" in failed
