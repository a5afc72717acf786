"""The upload function: POST /jobs and POST /jobs/{job_id}/start."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from vmp3.api.common import Context, OwnedJob, Owner, build_app
from vmp3.media.options import ConversionOptions
from vmp3.services import uploads
from vmp3.services.context import ServiceContext
from vmp3.settings import Settings


class CreateJob(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(default="", max_length=1024)
    options: ConversionOptions = Field(default_factory=ConversionOptions)


def create_app(settings: Settings, ctx: ServiceContext | None = None) -> FastAPI:
    app = build_app("vmp3-upload", settings, ctx)

    @app.post("/jobs", status_code=201)
    def create_job(body: CreateJob, owner: Owner, ctx: Context) -> dict[str, Any]:
        job, upload = uploads.create_job(ctx, owner, body.filename, body.options)
        return {"job": job.public_view(), "upload": upload,
                "upload_expires_in": ctx.settings.upload_url_expiry_s,
                "max_upload_bytes": ctx.settings.max_upload_bytes}

    @app.post("/jobs/{job_id}/start", status_code=202)
    def start_job(job: OwnedJob, ctx: Context) -> dict[str, Any]:
        return {"job": uploads.start_job(ctx, job).public_view()}

    return app
