"""Putting a job through the upload service the way a client would."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx

from vmp3.jobs import Job
from vmp3.media.options import ConversionOptions
from vmp3.services import uploads
from vmp3.services.context import ServiceContext


def new_owner() -> str:
    return f"owner-{uuid.uuid4().hex[:12]}"


def post_upload(post: dict[str, Any], source: Path) -> httpx.Response:
    with source.open("rb") as handle:
        return httpx.post(post["url"], data=post["fields"], files={"file": handle}, timeout=60)


def uploaded_job(ctx: ServiceContext, source: Path, owner: str | None = None,
                 **options: Any) -> Job:
    job, post = uploads.create_job(ctx, owner or new_owner(), source.name,
                                   ConversionOptions.model_validate(options))
    response = post_upload(post, source)
    assert response.status_code == 204, response.text
    return job
