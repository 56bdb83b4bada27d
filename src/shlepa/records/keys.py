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


#: Identity of an evaluation (full sha); the site's row id is the same with the short sha.
EVALUATION_KEY = "{model}@{revision}@{precision}@{suite}"


def evaluation_key(model: str, revision: str, precision: str, suite: str) -> str:
    """Identity of an evaluation: ``model@revision@precision@suite`` (full sha)."""
    return EVALUATION_KEY.format(model=model, revision=revision, precision=precision, suite=suite)


def row_id(model: str, revision: str, precision: str, suite: str) -> str:
    """The site's id of a board row and model page (short sha)."""
    return evaluation_key(model, short_sha(revision), precision, suite)


#: The request file's path; ``{suffix}`` is ``SUITE_SUFFIX`` for a suite other than the default, else empty.
#: Exported as is to the site (:func:`name_formats`), where the Submit form fills the same fields.
REQUEST_PATH = "requests/{org}/{name}/{revision}_{precision}{suffix}.yaml"
SUITE_SUFFIX = "_{suite}"
#: The submission branch of one request, and of a checkpoint series (one PR for every checkpoint).
SUBMISSION_BRANCH = "submit/{org}-{name}-{short}-{precision}"
SERIES_BRANCH = "submit/{org}-{name}-series-{series}"
#: The queue page's anchor of a request: ``queue/#<anchor>`` (the site's row id, prefixed).
QUEUE_ANCHOR = "req-{row_id}"


def request_relpath(model: str, revision: str, precision: str, suite: str = DEFAULT_SUITE) -> Path:
    """``requests/<org>/<model>/<sha>_<precision>[_<suite>].yaml``; the default suite is left out."""
    org, name = model.split("/", 1)
    suffix = "" if suite == DEFAULT_SUITE else SUITE_SUFFIX.format(suite=suite)
    return Path(REQUEST_PATH.format(org=org, name=name, revision=revision, precision=precision, suffix=suffix))


def model_page_path(model: str, revision: str, precision: str, suite: str) -> str:
    """Site-relative folder of a model page (no leading slash)."""
    org, name = model.split("/", 1)
    return f"models/{org}/{name}/{short_sha(revision)}_{precision}_{suite}/"


def submission_branch(model: str, revision: str, precision: str) -> str:
    """The git branch a submission's pull request comes from."""
    org, name = model.split("/", 1)
    return SUBMISSION_BRANCH.format(org=org, name=name, short=short_sha(revision), precision=precision)


def series_branch(model: str, series: str) -> str:
    """The git branch of a checkpoint series' pull request (all its request files)."""
    org, name = model.split("/", 1)
    return SERIES_BRANCH.format(org=org, name=name, series=series)


def queue_anchor(model: str, revision: str, precision: str, suite: str) -> str:
    """The id of a request's row on the queue page (stable: it only depends on the request's key)."""
    return QUEUE_ANCHOR.format(row_id=row_id(model, revision, precision, suite))


def name_formats() -> dict[str, object]:
    """The formats above as data, for the site's JavaScript (the Submit form builds paths with them)."""
    return {
        "default_suite": DEFAULT_SUITE,
        "short_sha": SHORT_SHA,
        "request_path": REQUEST_PATH,
        "suite_suffix": SUITE_SUFFIX,
        "submission_branch": SUBMISSION_BRANCH,
        "series_branch": SERIES_BRANCH,
        "queue_anchor": QUEUE_ANCHOR,
        "evaluation_key": EVALUATION_KEY,
        "model_id_re": MODEL_ID_RE.pattern,
        "sha_re": SHA_RE.pattern,
        "suite_re": SUITE_RE.pattern,
    }


# -- per-sample details (format: records/details.py) ----------------------------------------
#: A model's compact details file: beside its results file (until a details store moves it).
MODEL_DETAILS_NAME = "details_{stamp}.jsonl.gz"
#: The text every model of a task version shares, once (the store's key; the site's folder).
SHARED_TEXT_KEY = "shared/{task}/{version}.jsonl.gz"
#: A page of a shared text in the site: ``details/shared/<task>/<version>/<page>.json``.
SHARED_TEXT_PAGE = "shared/{task}/{version}/{page}.json"
_TASK_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_VERSION_RE = re.compile(r"^[0-9a-f]{16}$")


def model_details_name(stamp: str) -> str:
    """The file name of a model's details (``stamp``: the results file's UTC timestamp)."""
    return MODEL_DETAILS_NAME.format(stamp=stamp)


def shared_text_key(task: str, version_hash: str) -> str:
    """``shared/<task>/<version_hash>.jsonl.gz``: refuses a task or hash that is not a plain name
    (they come from files a runner wrote, and become paths and URLs)."""
    if not _TASK_RE.match(task) or ".." in task:
        raise ValueError(f"not a task name: {task[:80]!r}")
    if not _VERSION_RE.match(version_hash):
        raise ValueError(f"not a version hash (16 hex digits): {version_hash[:80]!r}")
    return SHARED_TEXT_KEY.format(task=task, version=version_hash)


def shared_text_page(task: str, version_hash: str, page: int) -> str:
    """A page of a shared text in the site, under the site's ``details/`` folder."""
    shared_text_key(task, version_hash)  # the same checks
    return SHARED_TEXT_PAGE.format(task=task, version=version_hash, page=page)
