"""The one small interface every details store implements, and the upload every publisher calls.

:func:`upload_details` is a plain function over a store and local files so that any
step that publishes an evaluation (the GPU runner today, a hosted ingest job later)
uploads the same way, before it commits the results that name the files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from shlepa.errors import ShlepaError
from shlepa.records.keys import details_key


class StoreError(ShlepaError, RuntimeError):
    """The details store is unreachable or refused; the message names the store and the key."""


class DetailsMissing(StoreError, KeyError):
    """No file under this key in the store."""


@dataclass(frozen=True)
class DetailsRef:
    """A details file in a store: its key, the sha256 of its bytes and its size."""

    key: str
    sha256: str
    bytes: int


@runtime_checkable
class DetailsStore(Protocol):
    """Opaque files by key. ``base_url`` + key is what a browser fetches (site-relative for ``branch``)."""

    @property
    def kind(self) -> str: ...

    @property
    def base_url(self) -> str: ...

    def put(self, key: str, data: bytes) -> DetailsRef: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def public_url(self, key: str) -> str: ...

    def describe(self) -> str: ...


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DetailsChanged(StoreError):
    """The file under a content key does not hash to that key's sha256."""


def get_checked(store: DetailsStore, digest: str) -> bytes:
    """The bytes of the details file whose sha256 is ``digest``, read back from ``store`` and
    checked against it (:class:`DetailsMissing` when absent, :class:`DetailsChanged` when altered)."""
    key = details_key(digest)
    blob = store.get(key)
    actual = sha256_hex(blob)
    if actual != digest:
        raise DetailsChanged(
            f"content hashes to {actual}: it does not hash to the results file's details_sha256 {digest}", path=key
        )
    return blob


def ref_of(data: bytes) -> DetailsRef:
    digest = sha256_hex(data)
    return DetailsRef(details_key(digest), digest, len(data))


def upload_details(store: DetailsStore, files: Sequence[Path]) -> list[DetailsRef]:
    """Put each local file into the store under its content key (skipped when already there).

    Returns one ref per file, in order. Any failure is a :class:`StoreError` and the
    caller must not commit results that name these files.
    """
    refs: list[DetailsRef] = []
    for path in files:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise StoreError(f"cannot read the details file: {exc.strerror or exc}", path=path) from None
        ref = ref_of(data)
        if not store.exists(ref.key):
            store.put(ref.key, data)
        refs.append(ref)
    return refs
