"""The checklist: verdicts and Markdown that cannot be used to inject HTML, links or mentions."""

from shlepa.submission.checklist import COMMENT_MARKER, Check, Checklist, Outcome


def test_untrusted_text_is_escaped_in_markdown():
    evil = "<img src=x onerror=alert(1)> [click](http://evil) @everyone `x`"
    md = Checklist([Check("license", Outcome.failed, evil, "requests/<b>/m.yaml", evil)]).to_markdown()
    assert (
        "<img" not in md and "<b>" not in md and "[click](" not in md and "\\[click\\]" in md and "@everyone" not in md
    )
    assert md.startswith(COMMENT_MARKER) and "Changes needed" in md


def test_verdicts():
    assert (
        "Ready to merge"
        in Checklist([Check("a", Outcome.passed, "ok"), Check("b", Outcome.warning, "hm")]).to_markdown()
    )
    unverified = Checklist([Check("a", Outcome.unverified, "hub down")])
    assert not unverified.ok and "not your fault" in unverified.to_markdown()
