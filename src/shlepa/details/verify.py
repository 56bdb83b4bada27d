"""``shlepa verify``: every results file's details are in the store and hash to what it names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shlepa.details.store import DetailsChanged, DetailsMissing, DetailsStore, StoreError, get_checked
from shlepa.records.keys import DIGEST_RE, details_key
from shlepa.records.results import ResultsError, iter_results_files, read_results_data


@dataclass(frozen=True)
class Problem:
    """One results file whose details are not as it says: the file, the store key and why."""

    results: Path
    key: str | None
    reason: str

    def line(self, root: Path) -> str:
        rel = self.results.relative_to(root) if self.results.is_relative_to(root) else self.results
        return f"{rel}\t{self.key or '-'}\t{self.reason}"


def verify_details(root: Path, store: DetailsStore) -> tuple[int, list[Problem]]:
    """(results files checked, problems). Reads each details file back from the store and hashes it."""
    root = Path(root)
    problems: list[Problem] = []
    files = iter_results_files(root)
    for path in files:
        try:
            data = read_results_data(path, lm_eval_keys=())
        except ResultsError as exc:
            problems.append(Problem(path, None, f"unreadable results file: {exc.message}"))
            continue
        digest = data.get("details_sha256")
        if not isinstance(digest, str) or not DIGEST_RE.match(digest):
            problems.append(Problem(path, None, "names no details sha256 (details_sha256); written before the store"))
            continue
        key = details_key(digest)
        try:
            get_checked(store, digest)
        except DetailsMissing:
            problems.append(Problem(path, key, f"missing from the {store.describe()}"))
        except DetailsChanged as exc:
            problems.append(Problem(path, key, exc.message))
        except StoreError as exc:
            problems.append(Problem(path, key, f"could not read it: {exc}"))
    return len(files), problems
