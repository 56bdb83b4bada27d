"""The ``hf`` store: a Hugging Face dataset repository, as the Open LLM Leaderboard kept details.

Uploads go through ``HfApi.upload_file`` (one commit per file: the Hub dedupes by
content and a runner publishes one evaluation at a time); the site reads the Hub's
``resolve`` URLs, which answer with ``Access-Control-Allow-Origin: *``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from huggingface_hub import HfApi
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.utils import build_hf_headers, get_session

from shlepa.details.store import DetailsMissing, DetailsRef, StoreError, ref_of

DEFAULT_ENDPOINT = "https://huggingface.co"


def hf_base_url(endpoint: str | None, repo: str, revision: str = "main") -> str:
    """Where browsers read a dataset repository's files: the Hub's resolve URLs (with CORS)."""
    return f"{(endpoint or DEFAULT_ENDPOINT).rstrip('/')}/datasets/{repo}/resolve/{quote(revision, safe='')}/"


@dataclass
class HfStore:
    repo: str
    revision: str = "main"
    endpoint: str | None = None
    token: str | None = field(default=None, repr=False)
    kind: str = "hf"

    def __post_init__(self) -> None:
        self.endpoint = (self.endpoint or DEFAULT_ENDPOINT).rstrip("/")
        self.api = HfApi(endpoint=self.endpoint, token=self.token)

    @property
    def base_url(self) -> str:
        return hf_base_url(self.endpoint, self.repo, self.revision)

    def describe(self) -> str:
        return f"hf store {self.endpoint}/datasets/{self.repo}"

    def public_url(self, key: str) -> str:
        return self.base_url + key

    def _fail(self, what: str, key: str, exc: BaseException) -> StoreError:
        return StoreError(f"{what} {key} failed: {type(exc).__name__}: {str(exc)[:500]}", path=self.describe())

    def put(self, key: str, data: bytes) -> DetailsRef:
        try:
            self.api.upload_file(
                path_or_fileobj=data,
                path_in_repo=key,
                repo_id=self.repo,
                repo_type="dataset",
                revision=self.revision,
                commit_message=f"details {key}",
            )
        except (HfHubHTTPError, OSError, ValueError) as exc:  # httpx2's transport errors are OSErrors too
            raise self._fail("upload of", key, exc) from None
        return ref_of(data)

    def exists(self, key: str) -> bool:
        try:
            return bool(self.api.file_exists(self.repo, key, repo_type="dataset", revision=self.revision))
        except RepositoryNotFoundError as exc:
            raise self._fail("lookup of", key, exc) from None
        except (HfHubHTTPError, OSError, ValueError) as exc:
            raise self._fail("lookup of", key, exc) from None

    def get(self, key: str) -> bytes:
        try:
            resp = get_session().get(
                self.public_url(key), headers=build_hf_headers(token=self.token), follow_redirects=True
            )
        except Exception as exc:  # the HTTP client's own transport errors
            raise self._fail("download of", key, exc) from None
        if resp.status_code == 404:
            raise DetailsMissing(f"no file {key}", path=self.describe())
        if resp.status_code >= 400:
            raise StoreError(f"download of {key} answered {resp.status_code}", path=self.describe())
        return bytes(resp.content)


__all__ = ["DEFAULT_ENDPOINT", "EntryNotFoundError", "HfStore", "hf_base_url"]
