"""The gateway function: job status, listing, and the download redirect."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from vmp3.api.common import Context, OwnedJob, Owner, build_app
from vmp3.services import downloads, records
from vmp3.services.context import ServiceContext
from vmp3.settings import Settings


def create_app(settings: Settings, ctx: ServiceContext | None = None) -> FastAPI:
    app = build_app("vmp3-gateway", settings, ctx)

    @app.get("/jobs")
    def list_jobs(owner: Owner, ctx: Context) -> dict[str, Any]:
        return {"jobs": [job.public_view() for job in records.list_owned(ctx, owner)]}

    @app.get("/jobs/{job_id}")
    def get_job(job: OwnedJob) -> dict[str, Any]:
        return {"job": job.public_view()}

    @app.get("/jobs/{job_id}/download", status_code=302)
    def download(job: OwnedJob, ctx: Context) -> RedirectResponse:
        return RedirectResponse(downloads.download_url(ctx, job), status_code=302)

    return app
