"""S3 (or LocalStack's S3, chosen by endpoint URL): presigned URLs, downloads, atomic uploads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from vmp3.errors import Unavailable

_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
# Multipart above 64 MiB; each part is its own retried request and S3 publishes the
# object only when CompleteMultipartUpload succeeds, so a reader never sees half an MP3.
MULTIPART_THRESHOLD_BYTES = 64 * 1024**2


def _transfer(threshold: int) -> TransferConfig:
    part_bytes = max(threshold // 4, 5 * 1024**2)  # S3's smallest part is 5 MiB
    return TransferConfig(multipart_threshold=threshold, multipart_chunksize=part_bytes,
                          max_concurrency=4)


@contextmanager
def _translated(action: str) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        raise Unavailable(f"object storage refused to {action}: "
                          f"{exc.response.get('Error', {}).get('Code', 'error')}") from exc
    except (BotoCoreError, Boto3Error) as exc:  # Boto3Error: a transfer that gave up retrying
        raise Unavailable(f"object storage cannot be reached to {action}") from exc


def _unless_missing(action: str, call: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    """``call()``'s response, or None when S3 says there is no such object."""
    try:
        return call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING_CODES:
            return None
        raise Unavailable(f"object storage refused to {action}") from exc
    except BotoCoreError as exc:
        raise Unavailable(f"object storage cannot be reached to {action}") from exc


class ObjectStore:
    def __init__(self, client: Any, bucket: str,
                 multipart_threshold: int = MULTIPART_THRESHOLD_BYTES) -> None:
        self._s3 = client
        self.bucket = bucket
        self._transfer = _transfer(multipart_threshold)

    @classmethod
    def connect(cls, bucket: str, region: str, endpoint_url: str | None,
                multipart_threshold: int = MULTIPART_THRESHOLD_BYTES) -> ObjectStore:
        config = Config(signature_version="s3v4", retries={"mode": "standard", "max_attempts": 5},
                        s3={"addressing_style": "path"} if endpoint_url else {},
                        connect_timeout=5, read_timeout=60)
        client = boto3.client("s3", region_name=region, endpoint_url=endpoint_url, config=config)
        return cls(client, bucket, multipart_threshold)

    def presigned_post(self, key: str, max_bytes: int, expires_s: int) -> dict[str, Any]:
        """A browser-usable POST for exactly ``key``, refusing bodies over ``max_bytes``."""
        with _translated("sign an upload"):
            post: dict[str, Any] = self._s3.generate_presigned_post(
                Bucket=self.bucket, Key=key, ExpiresIn=expires_s,
                Conditions=[["content-length-range", 0, max_bytes]])
        return post

    def presigned_get(self, key: str, download_name: str, expires_s: int) -> str:
        with _translated("sign a download"):
            url: str = self._s3.generate_presigned_url(
                "get_object", ExpiresIn=expires_s,
                Params={"Bucket": self.bucket, "Key": key,
                        "ResponseContentDisposition": download_name,
                        "ResponseContentType": "audio/mpeg"})
        return url

    def size_of(self, key: str) -> int | None:
        """The object's size, or None when there is no such object."""
        head = _unless_missing("describe an object",
                               lambda: self._s3.head_object(Bucket=self.bucket, Key=key))
        return None if head is None else int(head["ContentLength"])

    def download(self, key: str, destination: Path) -> None:
        with _translated("read the upload"):
            self._s3.download_file(self.bucket, key, str(destination), Config=self._transfer)

    def upload(self, source: Path, key: str, metadata: dict[str, str]) -> None:
        with _translated("store the MP3"):
            self._s3.upload_file(str(source), self.bucket, key, Config=self._transfer,
                                 ExtraArgs={"ContentType": "audio/mpeg", "Metadata": metadata})

    def delete(self, key: str) -> None:
        with _translated("delete an object"):
            self._s3.delete_object(Bucket=self.bucket, Key=key)

    def put_json(self, key: str, body: str) -> None:
        with _translated("store a record"):
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode(),
                                ContentType="application/json")

    def get_json(self, key: str) -> str | None:
        """The object's text, or None when there is no such object."""
        response = _unless_missing("read a record",
                                   lambda: self._s3.get_object(Bucket=self.bucket, Key=key))
        return None if response is None else bytes(response["Body"].read()).decode()

    def newest_keys(self, prefix: str, limit: int) -> list[str]:
        """Up to ``limit`` keys under ``prefix``, most recently written first."""
        found: list[tuple[Any, str]] = []
        with _translated("list records"):
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                found += [(item["LastModified"], item["Key"]) for item in page.get("Contents", [])]
        return [key for _stamp, key in sorted(found, reverse=True)[:limit]]

    def exists(self, key: str) -> bool:
        return self.size_of(key) is not None

    def ensure_bucket(self) -> None:
        """Create the bucket if missing (local emulation only; the CDK stack owns it on AWS)."""
        try:
            self._s3.head_bucket(Bucket=self.bucket)
        except ClientError:
            with _translated("create the bucket"):
                self._s3.create_bucket(Bucket=self.bucket)
