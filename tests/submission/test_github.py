"""The PR comment and PR opening, through the real PyGithub against a fake GitHub API."""

from __future__ import annotations

from shlepa.submission.checklist import COMMENT_MARKER, Check, Checklist, Outcome
from shlepa.submission.github import client, open_pull_request, upsert_comment


def _checklist(status: Outcome) -> str:
    cl = Checklist([Check("license", status, "open license apache-2.0", "requests/org/m/x.yaml", "fix it")])
    return cl.to_markdown()


def test_one_comment_is_created_then_updated_never_duplicated(fake_github):
    gh = client("x", fake_github.base_url)
    fake_github.add_comment(7, "LGTM from a human")  # other comments are left alone
    action, cid = upsert_comment(gh, fake_github.repo, 7, _checklist(Outcome.failed))
    assert action == "created"
    action2, cid2 = upsert_comment(gh, fake_github.repo, 7, _checklist(Outcome.passed))
    action3, cid3 = upsert_comment(gh, fake_github.repo, 7, _checklist(Outcome.passed))
    assert (action2, cid2) == ("updated", cid)
    assert (action3, cid3) == ("unchanged", cid)
    ours = [c for c in fake_github.comments_on(7) if COMMENT_MARKER in c["body"]]
    assert len(ours) == 1 and "Ready to merge" in ours[0]["body"]
    assert [c["body"] for c in fake_github.comments_on(7) if COMMENT_MARKER not in c["body"]] == ["LGTM from a human"]
    assert sum(1 for m, p in fake_github.calls if m == "POST" and p.endswith("/comments")) == 1


def test_comments_on_other_prs_are_not_touched(fake_github):
    gh = client("x", fake_github.base_url)
    upsert_comment(gh, fake_github.repo, 1, _checklist(Outcome.failed))
    upsert_comment(gh, fake_github.repo, 2, _checklist(Outcome.failed))
    assert len(fake_github.comments_on(1)) == 1 and len(fake_github.comments_on(2)) == 1


def test_open_pull_request_creates_branch_commit_and_pr(fake_github):
    gh = client("x", fake_github.base_url)
    pr = open_pull_request(
        gh,
        fake_github.repo,
        branch="submit/org-m",
        path="requests/org/m/a_bfloat16.yaml",
        content="model: org/m\n",
        title="Submit org/m",
        body="request",
    )
    assert pr.number == 1 and pr.branch == "submit/org-m"
    assert fake_github.files[("submit/org-m", "requests/org/m/a_bfloat16.yaml")] == "model: org/m\n"
    assert fake_github.pulls[0]["head"]["ref"] == "submit/org-m" and fake_github.pulls[0]["base"]["ref"] == "main"


def _pr(fake_github) -> tuple[int, str]:
    pr = open_pull_request(
        client("x", fake_github.base_url),
        fake_github.repo,
        branch="b",
        path="requests/a/b/c.yaml",
        content="x: 1\n",
        title="t",
        body="b",
    )
    return pr.number, fake_github.pulls[0]["head"]["sha"]


def test_pr_comment_command_reads_untrusted_number_and_checks_head(fake_github, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from shlepa.cli import app

    number, head = _pr(fake_github)
    md = tmp_path / "checklist.md"
    md.write_text(_checklist(Outcome.failed))
    (tmp_path / "pr_number").write_text(f"{number}\n")
    monkeypatch.setenv("GITHUB_TOKEN", "x")
    base = [
        "pr-comment",
        str(md),
        "--repo",
        fake_github.repo,
        "--github-api",
        fake_github.base_url,
        "--pr-file",
        str(tmp_path / "pr_number"),
    ]
    runner = CliRunner()
    wrong = runner.invoke(app, [*base, "--expect-head-sha", "c" * 40])
    assert wrong.exit_code == 1 and not fake_github.comments_on(number)
    ok = runner.invoke(app, [*base, "--expect-head-sha", head])
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(app, [*base, "--expect-head-sha", head])
    assert "unchanged" in again.output and len(fake_github.comments_on(number)) == 1
    (tmp_path / "pr_number").write_text("1; rm -rf /")
    bad = runner.invoke(app, [*base])
    assert bad.exit_code == 1 and "positive integer" in bad.output


def test_a_strangers_comment_holding_the_marker_is_never_edited(fake_github):
    """The attack: mallory pastes the marker (and a fake 'Ready to merge') into her own comment."""
    gh = client("x", fake_github.base_url)
    forged = f"{COMMENT_MARKER}\n## Ready to merge\nall checks passed"
    theirs = fake_github.add_comment(9, forged, user="mallory")
    action, cid = upsert_comment(gh, fake_github.repo, 9, _checklist(Outcome.failed))
    assert action == "created" and cid != theirs
    assert fake_github.comments[theirs]["body"] == forged  # left exactly as mallory wrote it
    assert fake_github.comments[cid]["user"] == "github-actions[bot]"
    assert ("PATCH", f"/repos/{fake_github.repo}/issues/comments/{theirs}") not in fake_github.calls
    again, cid2 = upsert_comment(gh, fake_github.repo, 9, _checklist(Outcome.passed))
    assert (again, cid2) == ("updated", cid)  # the bot's own comment is the one kept up to date
