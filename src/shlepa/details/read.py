"""A results file's per-sample details, wherever they are kept: beside it or in the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shlepa.config import DetailsSettings
from shlepa.details.configured import open_store
from shlepa.details.store import get_checked
from shlepa.records import details as details_format
from shlepa.records.keys import DIGEST_RE, details_key
from shlepa.records.results import ResultsError, load_details


def results_details(
    results_file: Path, data: dict[str, Any], root: Path, settings: DetailsSettings
) -> list[dict[str, Any]]:
    """The full rows of ``results_file`` (``data``: its content). Details beside the file are read
    there; otherwise the configured store (``settings``, opened only then) is asked for the file
    under ``details_sha256``, checked against that hash and joined with the repository's shared
    texts. [] when the results file records no details."""
    name = data.get("details_file")
    if not name or (Path(results_file).parent / Path(str(name)).name).is_file():
        return load_details(results_file, data)
    digest = data.get("details_sha256")
    if not isinstance(digest, str) or not DIGEST_RE.match(digest):
        raise ResultsError(
            f"its details file {name} is not beside it and it names no details sha256",
            path=results_file,
            field="details_sha256",
        )
    blob = get_checked(open_store(settings, Path(root)), digest)  # StoreError subclasses name the key
    shared = details_format.load_shared(Path(root))
    return details_format.read_model_details(blob, shared, where=details_key(digest)).full_rows()
