"""Presigned URLs on LocalStack S3 with signature validation on."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from tests.support.jobs import post_upload
from vmp3.services.context import ServiceContext


def test_presigned_post_allows_exactly_its_key_within_the_size_limit(
        ctx: ServiceContext, tmp_path: Path) -> None:
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * 1000)
    post = ctx.objects.presigned_post("uploads/o/k1", max_bytes=2000, expires_s=60)
    assert post_upload(post, small).status_code == 204
    assert ctx.objects.size_of("uploads/o/k1") == 1000

    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 3000)
    post = ctx.objects.presigned_post("uploads/o/k2", max_bytes=2000, expires_s=60)
    assert post_upload(post, big).status_code == 400
    assert ctx.objects.size_of("uploads/o/k2") is None

    other_key = dict(post, fields={**post["fields"], "key": "uploads/o/elsewhere"})
    assert post_upload(other_key, small).status_code == 403
    assert ctx.objects.size_of("uploads/o/elsewhere") is None


def test_presigned_get_is_refused_when_tampered_or_expired(ctx: ServiceContext,
                                                           tmp_path: Path) -> None:
    source = tmp_path / "a.mp3"
    source.write_bytes(b"ID3" + b"\x00" * 100)
    ctx.objects.upload(source, "outputs/o/j.mp3", {"job-id": "j"})
    url = ctx.objects.presigned_get("outputs/o/j.mp3", 'attachment; filename="a.mp3"', 60)
    fine = httpx.get(url)
    assert fine.status_code == 200
    assert fine.headers["content-disposition"] == 'attachment; filename="a.mp3"'

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["response-content-disposition"] = "attachment; filename=evil.exe"
    assert httpx.get(urlunsplit(parts._replace(query=urlencode(query)))).status_code == 403

    short = ctx.objects.presigned_get("outputs/o/j.mp3", "attachment", 1)
    time.sleep(2.5)
    assert httpx.get(short).status_code == 403
