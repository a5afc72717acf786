"""Job records: fast in Redis, durable in S3.

Redis answers every lookup and holds progress. Each milestone (created, queued, done,
failed) is also written to ``jobs/{owner}/{id}.json`` in S3, so a Redis that lost its
data (ElastiCache failover, a restart with no persistence) is refilled from S3 on the
next lookup, and queued jobs are refilled by the converter from their queue message.
"""

from __future__ import annotations

import time
from typing import Any

from vmp3.adapters.jobstore import OWNER_LIST_LIMIT, Move
from vmp3.errors import NotFound
from vmp3.jobs import Job, JobError, Status
from vmp3.services.context import ServiceContext

_MILESTONES = frozenset({Status.CREATED, Status.QUEUED, Status.DONE, Status.FAILED})


def manifest_key(owner: str, job_id: str) -> str:
    return f"jobs/{owner}/{job_id}.json"


def create(ctx: ServiceContext, job: Job) -> None:
    ctx.objects.put_json(manifest_key(job.owner, job.id), job.model_dump_json())
    ctx.jobs.create(job)


def advance(ctx: ServiceContext, job: Job, status: Status, **changes: Any) -> bool:
    """Move ``job`` forward to ``status``; False if it already was there or further."""
    updated = job.model_copy(update={**changes, "status": status, "updated_at": time.time()})
    move = ctx.jobs.advance(updated)
    if move is Move.REFUSED:
        return False
    if move is Move.MISSING:
        ctx.jobs.restore(updated)
    if status in _MILESTONES:
        ctx.objects.put_json(manifest_key(job.owner, job.id), updated.model_dump_json())
    return True


def fail(ctx: ServiceContext, job: Job, code: str, message: str) -> bool:
    return advance(ctx, job, Status.FAILED, error=JobError(code=code, message=message),
                   progress=job.progress)


def get(ctx: ServiceContext, job_id: str, owner: str) -> Job | None:
    job = ctx.jobs.get(job_id)
    if job is None:
        job = _from_manifest(ctx, manifest_key(owner, job_id))
    return job if job is not None and job.owner == owner else None


def get_owned(ctx: ServiceContext, job_id: str, owner: str) -> Job:
    """The job if ``owner`` owns it; anyone else learns only that it does not exist."""
    job = get(ctx, job_id, owner)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return job


def list_owned(ctx: ServiceContext, owner: str) -> list[Job]:
    if not ctx.jobs.owner_synced(owner):
        for key in ctx.objects.newest_keys(f"jobs/{owner}/", OWNER_LIST_LIMIT):
            if ctx.jobs.get(_job_id_of(key)) is None:
                _from_manifest(ctx, key)
    return ctx.jobs.list_owned(owner)


def _job_id_of(key: str) -> str:
    return key.rsplit("/", 1)[-1].removesuffix(".json")


def _from_manifest(ctx: ServiceContext, key: str) -> Job | None:
    text = ctx.objects.get_json(key)
    if text is None:
        return None
    job = Job.model_validate_json(text)
    ctx.jobs.restore(job)
    return ctx.jobs.get(job.id) or job
