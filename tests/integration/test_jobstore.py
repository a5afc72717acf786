"""Job metadata on the real Redis."""

from __future__ import annotations

import pytest

from vmp3.errors import NotFound
from vmp3.jobs import Job, Status, new_job_id
from vmp3.services import records
from vmp3.services.context import ServiceContext


def created(ctx: ServiceContext, owner: str = "alice") -> Job:
    job = Job(id=new_job_id(), owner=owner)
    records.create(ctx, job)
    return job


def test_status_only_moves_forward(ctx: ServiceContext) -> None:
    job = created(ctx)
    assert records.advance(ctx, job, Status.QUEUED)
    assert records.advance(ctx, job, Status.RUNNING)
    assert not records.advance(ctx, job, Status.QUEUED)
    assert records.advance(ctx, job, Status.DONE, progress=100, result={"duration_s": 1.0})
    assert not records.advance(ctx, job, Status.RUNNING)
    assert not records.fail(ctx, job, "internal", "late failure")
    stored = ctx.jobs.get(job.id)
    assert stored is not None
    assert (stored.status, stored.progress, stored.error) == (Status.DONE, 100, None)


def test_progress_rises_only_while_running(ctx: ServiceContext) -> None:
    job = created(ctx)
    ctx.jobs.report_progress(job.id, 40)
    assert records.get_owned(ctx, job.id, "alice").progress == 0  # not running yet
    records.advance(ctx, job, Status.RUNNING)
    for percent in (10, 30, 20, 30, 55):
        ctx.jobs.report_progress(job.id, percent)
    assert records.get_owned(ctx, job.id, "alice").progress == 55
    ctx.jobs.report_progress(job.id, None)
    assert records.get_owned(ctx, job.id, "alice").progress is None  # unknown duration


def test_final_records_expire_and_leave_the_owner_index(ctx: ServiceContext) -> None:
    job = created(ctx, owner="expiring")
    records.advance(ctx, job, Status.FAILED)
    ttl = ctx.jobs._redis.ttl(f"vmp3:job:{job.id}")
    assert 0 < ttl <= ctx.settings.record_ttl_s
    ctx.jobs._redis.delete(f"vmp3:job:{job.id}")  # as expiry would
    assert ctx.jobs.list_owned("expiring") == []
    assert ctx.jobs._redis.zcard("vmp3:owner:expiring") == 0


def test_other_owners_see_nothing(ctx: ServiceContext) -> None:
    job = created(ctx, owner="alice")
    with pytest.raises(NotFound):
        records.get_owned(ctx, job.id, "mallory")
    assert job.id not in {j.id for j in ctx.jobs.list_owned("mallory")}
    assert job.id in {j.id for j in ctx.jobs.list_owned("alice")}


def test_start_claim_is_exclusive_until_released(ctx: ServiceContext) -> None:
    job_id = new_job_id()
    release = ctx.jobs.claim_start(job_id)
    assert release is not None
    assert ctx.jobs.claim_start(job_id) is None
    release()
    assert ctx.jobs.claim_start(job_id) is not None


def test_records_nobody_works_on_expire_and_working_ones_do_not(ctx: ServiceContext) -> None:
    job = created(ctx)
    key = f"vmp3:job:{job.id}"
    assert 0 < ctx.jobs._redis.ttl(key) <= ctx.settings.record_ttl_s  # never started
    records.advance(ctx, job, Status.QUEUED)
    assert ctx.jobs._redis.ttl(key) == -1  # queued: kept until it finishes
