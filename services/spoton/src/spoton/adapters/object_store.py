"""Videos from S3-compatible storage (AWS S3, MinIO, …), fetched to a local cache before a job.

boto3 is synchronous: callers run `fetch` on a worker thread. Keys are validated (no absolute
paths, no `..`) and cached files are named by a hash of bucket and key, never by the key itself.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from spoton.errors import FeatureDisabledError, InvalidInputError, NotFoundError, SpotOnError

__all__ = ["ObjectStore", "ObjectStoreError", "S3ObjectStore", "validate_key"]

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v"}


class ObjectStoreError(SpotOnError):
    """The object store failed (unreachable, refused our credentials, …)."""


class ObjectStore(Protocol):
    def fetch(self, key: str) -> Path: ...


def validate_key(key: str) -> str:
    path = PurePosixPath(key)
    if not key or len(key) > 1024 or key.startswith("/") or ".." in path.parts or "\x00" in key:
        raise InvalidInputError("s3_key must be a relative object key without '..'")
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise InvalidInputError(f"s3_key must name a video ({', '.join(sorted(VIDEO_SUFFIXES))})")
    return key


class S3ObjectStore:
    def __init__(
        self,
        *,
        bucket: str | None,
        cache_dir: Path,
        endpoint_url: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str = "us-east-1",
    ) -> None:
        if not bucket:
            raise FeatureDisabledError("S3 is not configured: set S3_BUCKET_NAME (and S3_ENDPOINT_URL for MinIO)")
        self.bucket = bucket
        self.cache_dir = cache_dir
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"}),
        )

    def fetch(self, key: str) -> Path:
        """Download `key` once; return the local file."""
        validate_key(key)
        digest = hashlib.sha256(f"{self.bucket}/{key}".encode()).hexdigest()[:32]
        target = self.cache_dir / f"{digest}{PurePosixPath(key).suffix.lower()}"
        if target.exists():
            return target
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".part")
        try:
            self._client.download_file(self.bucket, key, str(partial))
        except ClientError as error:
            partial.unlink(missing_ok=True)
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                raise NotFoundError("s3 object", key) from None
            raise ObjectStoreError(f"S3 refused {key!r}: {code or error}") from None
        except BotoCoreError as error:
            partial.unlink(missing_ok=True)
            raise ObjectStoreError(f"S3 is unreachable: {error}") from None
        partial.replace(target)
        return target
