"""Name formats: the side branch for refused results is always a valid, unique git branch name."""

from __future__ import annotations

import subprocess

from shlepa.records.keys import unpublished_branch, unpublished_slug


def test_unpublished_branch_names_the_request_and_is_a_valid_git_branch():
    slug = unpublished_slug("org/model..v1.lock", "ab" * 20, "bfloat16", "open_llm_v1", "20260101T000000Z")
    assert slug == "org-model.v1.lock-abababababab-bfloat16-open_llm_v1-20260101T000000Z"
    branch = unpublished_branch(slug)
    assert branch == f"shlepa/unpublished/{slug}"
    assert subprocess.run(["git", "check-ref-format", "--branch", branch], capture_output=True).returncode == 0
