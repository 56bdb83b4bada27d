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
#: Who holds a claimed request: the evaluate.yml run (and attempt) whose hosted plan job claimed it.
#: Recorded as the RUNNING entry's runner; the hosted ingest job publishes only under the same claim.
CLAIM_ID = "run-{run_id}.{attempt}"
#: Where a runner pushes results that main refused for good (a ruleset, a file over the size limit):
#: one branch per refused publish, so a later one never collides with an earlier one.
UNPUBLISHED_BRANCH = "shlepa/unpublished/{slug}"
UNPUBLISHED_SLUG = "{org}-{name}-{short}-{precision}-{suite}-{stamp}"
#: The queue page's anchor of a request: ``queue/#<anchor>`` (the site's row id, prefixed).
QUEUE_ANCHOR = "req-{row_id}"


def request_relpath(model: str, revision: str, precision: str, suite: str = DEFAULT_SUITE) -> Path:
    """``requests/<org>/<model>/<sha>_<precision>[_<suite>].yaml``; the default suite is left out."""
    org, name = model.split("/", 1)
    suffix = "" if suite == DEFAULT_SUITE else SUITE_SUFFIX.format(suite=suite)
    return Path(REQUEST_PATH.format(org=org, name=name, revision=revision, precision=precision, suffix=suffix))


def claim_id(run_id: str, attempt: str | None) -> str:
    """The claim of an Actions run: ``run-<run id>.<attempt>``."""
    return CLAIM_ID.format(run_id=run_id, attempt=attempt or "1")


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


def unpublished_slug(model: str, revision: str, precision: str, suite: str, stamp: str) -> str:
    """The folder (and last branch part) of refused results; ``stamp`` is a UTC time like 20260101T000000Z.

    Runs of dots become one, so the name is always a valid git branch name.
    """
    org, name = model.split("/", 1)
    slug = UNPUBLISHED_SLUG.format(
        org=org, name=name, short=short_sha(revision), precision=precision, suite=suite, stamp=stamp
    )
    return re.sub(r"\.{2,}", ".", slug)


def unpublished_branch(slug: str) -> str:
    """The side branch that holds refused results (see :func:`unpublished_slug`)."""
    return UNPUBLISHED_BRANCH.format(slug=slug)


def queue_anchor(model: str, revision: str, precision: str, suite: str) -> str:
    """The id of a request's row on the queue page (stable: it only depends on the request's key)."""
    return QUEUE_ANCHOR.format(row_id=row_id(model, revision, precision, suite))


#: Where a details file lives in a details store: named by the sha256 of its bytes (content
#: addressed, so a results file that names the hash can never point to a different file),
#: fanned out over 256 folders by the first two hex digits (10,000 models: ~40 files a folder,
#: far under GitHub's ~3,000 entries a folder).
DETAILS_KEY = "sha256/{prefix}/{digest}.jsonl.gz"
DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")


def details_key(digest: str) -> str:
    """The store key of a details file whose bytes hash to ``digest`` (sha256, hex)."""
    if not DIGEST_RE.match(digest):
        raise ValueError(f"not a sha256 hex digest: {digest!r}")
    return DETAILS_KEY.format(prefix=digest[:2], digest=digest)


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
        "details_key": DETAILS_KEY,
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
