"""Per-sample details kept off main, in one configured store (leaderboard.yaml ``details:``).

The store moves opaque bytes: ``put(key, data)``, ``get(key)``, ``exists(key)`` and
``public_url(key)`` (what the browser fetches). Keys are content addressed
(:func:`shlepa.records.keys.details_key`), so a results file that names the sha256
of its details names exactly one file. Backends: ``branch`` (an orphan branch of the
same repository), ``hf`` (a Hub dataset repository), ``s3`` (an S3-compatible bucket).
"""

from shlepa.details.configured import open_store, public_base
from shlepa.details.store import DetailsMissing, DetailsRef, DetailsStore, StoreError, sha256_hex, upload_details

__all__ = [
    "DetailsMissing",
    "DetailsRef",
    "DetailsStore",
    "StoreError",
    "open_store",
    "public_base",
    "sha256_hex",
    "upload_details",
]
