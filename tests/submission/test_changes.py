"""Classifying a PR's changed files from git's NUL-separated output."""

import pytest

from shlepa.submission.changes import ChangesError, Kind, changed_files, parse_name_status


def test_parse_and_classify():
    raw = b"A\0requests/o/m/a_bfloat16.yaml\0M\0results/o/m/r.json\0D\0.github/workflows/x.yml\0"
    changes = parse_name_status(raw)
    assert [(c.status, c.kind) for c in changes] == [("A", Kind.request), ("M", Kind.other), ("D", Kind.other)]
    assert parse_name_status(b"A\0requests/o/m/x/y.yaml\0")[0].kind == Kind.other


@pytest.mark.parametrize("bad", ["main", "--output=/tmp/x...b", "a;rm -rf /...b", "a b...c"])
def test_range_is_validated_before_git_runs(tmp_path, bad):
    with pytest.raises(ChangesError, match="--changed"):
        changed_files(tmp_path, bad)


def test_parse_raw_keeps_status_and_new_mode():
    from shlepa.submission.changes import change_problem, parse_raw

    z = "0" * 40
    raw = (
        f":000000 100644 {z} {z} A\0requests/o/m/a_bfloat16.yaml\0"
        f":100644 120000 {z} {z} T\0requests/o/m/b_bfloat16.yaml\0"
        f":100644 100644 {z} {z} R100\0requests/o/m/c.yaml\0requests/o/m/d.yaml\0"
    ).encode()
    a, t, r = parse_raw(raw)
    assert (a.status, a.mode, change_problem(a)) == ("A", "100644", None)
    assert (t.status, t.mode) == ("T", "120000") and "changes the type" in (change_problem(t) or "")
    assert (r.status, r.old_path, r.path) == ("R", "requests/o/m/c.yaml", "requests/o/m/d.yaml")
    assert "renames" in (change_problem(r) or "")
