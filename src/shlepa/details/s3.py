"""The ``s3`` store: any S3-compatible bucket (AWS, R2, B2, MinIO) with a public base URL.

boto3 is an optional extra (``shlepa[s3]``), imported only when this store is used.
The bucket must let browsers GET its objects (a public bucket or a CDN in front,
with CORS allowing the site's origin); ``public_url`` is that base.
"""

from __future__ import annotations

from typing import Any

from shlepa.details.store import DetailsMissing, DetailsRef, StoreError, ref_of


class S3Store:
    """Details in ``bucket`` under ``prefix``; browsers read ``public_url`` + prefix + key."""

    kind = "s3"

    def __init__(self, bucket: str, *, public_url: str, prefix: str = "", **kw: Any) -> None:
        self.bucket, self.public_url_base, self.prefix = bucket, public_url, prefix
        self.endpoint_url: str | None = kw.pop("endpoint_url", None)
        self.region: str | None = kw.pop("region", None)
        secrets = {name: kw.pop(name, None) for name in ("access_key_id", "secret_access_key", "session_token")}
        if kw:
            raise TypeError(f"unknown arguments {sorted(kw)}")
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise StoreError("the s3 store needs boto3: pip install 'shlepa[s3]'", path=self.describe()) from None
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region or "us-east-1",
            aws_access_key_id=secrets["access_key_id"],
            aws_secret_access_key=secrets["secret_access_key"],
            aws_session_token=secrets["session_token"],
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60),
        )

    @property
    def base_url(self) -> str:
        return self.public_url_base + self.prefix

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3 store s3://{self.bucket}/{self.prefix}{where}"

    def public_url(self, key: str) -> str:
        return self.base_url + key

    def _errors(self) -> tuple[type[BaseException], ...]:
        from botocore.exceptions import BotoCoreError, ClientError

        return (BotoCoreError, ClientError)

    def _fail(self, what: str, key: str, exc: BaseException) -> StoreError:
        return StoreError(f"{what} {key} failed: {type(exc).__name__}: {str(exc)[:500]}", path=self.describe())

    def put(self, key: str, data: bytes) -> DetailsRef:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self.prefix + key, Body=data, ContentType="application/octet-stream"
            )
        except self._errors() as exc:
            raise self._fail("upload of", key, exc) from None
        return ref_of(data)

    def _missing(self, exc: BaseException) -> bool:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        return code in {"404", "NoSuchKey", "NotFound"}

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except self._errors() as exc:
            if self._missing(exc):
                return False
            raise self._fail("lookup of", key, exc) from None
        return True

    def get(self, key: str) -> bytes:
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read())
        except self._errors() as exc:
            if self._missing(exc):
                raise DetailsMissing(f"no file {key}", path=self.describe()) from None
            raise self._fail("download of", key, exc) from None
