"""How an evaluation is named, in one place: ids, its key, short sha, paths and branch.

Every format that turns a (model, revision, precision, suite) into a string lives
here, so the request file's path, the results' key, the site's row id and page
folder and the submission branch can never disagree.
"""

from __future__ import annotations

import re
from pathlib import Path

DEFAULT_SUITE = "open_llm_v1"

# Hugging Face repo ids: letters, digits, '-', '_', '.'; no '--' or '..'; <= 96 per part.
_NAME_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
MODEL_ID_RE = re.compile(rf"^{_NAME_PART}/{_NAME_PART}$")
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
SUITE_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")

#: Hex digits of a commit sha shown in names, URLs and folders (git's own short form is 7-12).
SHORT_SHA = 12


def short_sha(revision: str) -> str:
    return revision[:SHORT_SHA]


def evaluation_key(model: str, revision: str, precision: str, suite: str) -> str:
    """Identity of an evaluation: ``model@revision@precision@suite`` (full sha)."""
    return f"{model}@{revision}@{precision}@{suite}"


def row_id(model: str, revision: str, precision: str, suite: str) -> str:
    """The site's id of a board row and model page (short sha)."""
    return evaluation_key(model, short_sha(revision), precision, suite)


def request_relpath(model: str, revision: str, precision: str, suite: str = DEFAULT_SUITE) -> Path:
    """``requests/<org>/<model>/<sha>_<precision>[_<suite>].yaml``; the default suite is left out."""
    stem = f"{revision}_{precision}" + ("" if suite == DEFAULT_SUITE else f"_{suite}")
    org, name = model.split("/", 1)
    return Path("requests") / org / name / f"{stem}.yaml"


def model_page_path(model: str, revision: str, precision: str, suite: str) -> str:
    """Site-relative folder of a model page (no leading slash)."""
    org, name = model.split("/", 1)
    return f"models/{org}/{name}/{short_sha(revision)}_{precision}_{suite}/"


def submission_branch(model: str, revision: str, precision: str) -> str:
    """The git branch a submission's pull request comes from."""
    org, name = model.split("/", 1)
    return f"submit/{org}-{name}-{short_sha(revision)}-{precision}"
