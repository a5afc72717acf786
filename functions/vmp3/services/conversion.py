"""Conversion service: one queue message in, one stored MP3 and a final job state out.

Both entry points (the long-running consumer and the Lambda handler for ``aws:rmq``
batches) call ``process``; they differ only in how they ack.
"""

from __future__ import annotations

import logging
import time
from enum import StrEnum

from vmp3.errors import ConversionFailed, MediaError
from vmp3.jobs import ConvertMessage, Job, Status
from vmp3.observability import job_finished
from vmp3.services import records
from vmp3.services.context import ServiceContext
from vmp3.services.leases import job_lease
from vmp3.workspace import job_dir

log = logging.getLogger(__name__)
PROGRESS_MIN_INTERVAL_S = 0.5
CRASHED = "crashed"


class Outcome(StrEnum):
    DONE = "done"  # ack
    SKIPPED = "skipped"  # already final: ack, do nothing
    FAILED = "failed"  # the job cannot succeed: job failed, message to the dead-letter queue


def process(ctx: ServiceContext, message: ConvertMessage, previous_deliveries: int = 0) -> Outcome:
    """Convert one job. Infrastructure errors propagate so the message is redelivered.

    ``previous_deliveries`` is the broker's count of earlier deliveries that ended without
    an ack: at the delivery limit the job is failed instead of crashing a converter again.
    """
    job = _current(ctx, message)
    if job.status.is_final:
        return Outcome.SKIPPED
    if previous_deliveries >= ctx.topology.delivery_limit:
        return _failed(ctx, job, CRASHED, f"the conversion was started {previous_deliveries} "
                       "times and never finished (the converter crashed or lost its connection)")
    with job_lease(ctx.jobs, job.id):
        job = _current(ctx, message)  # another converter may have finished it meanwhile
        if job.status.is_final:
            return Outcome.SKIPPED
        return _run(ctx, job, message)


def _run(ctx: ServiceContext, job: Job, message: ConvertMessage) -> Outcome:
    records.advance(ctx, job, Status.RUNNING, progress=0)
    ctx.jobs.count_attempt(job.id)
    try:
        summary = _convert_and_store(ctx, message)
    except (MediaError, ConversionFailed) as exc:
        return _failed(ctx, job, exc.code, exc.message)
    records.advance(ctx, job, Status.DONE, progress=100, result=summary)
    job_finished(ok=True, seconds=float(str(summary["seconds"])))
    return Outcome.DONE


def _failed(ctx: ServiceContext, job: Job, code: str, message: str) -> Outcome:
    records.fail(ctx, job, code, message)
    job_finished(ok=False)
    log.warning("conversion failed", extra={"job_id": job.id, "code": code, "error": message})
    return Outcome.FAILED


def _current(ctx: ServiceContext, message: ConvertMessage) -> Job:
    """The job's record; recreated from the message if Redis and S3 both lack it."""
    job = records.get(ctx, message.job_id, message.owner)
    if job is None:
        job = Job(id=message.job_id, owner=message.owner, filename=message.filename,
                  options=message.options, status=Status.QUEUED)
        ctx.jobs.restore(job)
    return job


def _convert_and_store(ctx: ServiceContext, message: ConvertMessage) -> dict[str, object]:
    started = time.monotonic()
    with job_dir(message.job_id, ctx.settings.work_dir) as workdir:
        source = workdir / "source"
        ctx.objects.download(message.source_key, source)
        result = ctx.converter.convert(source, message.options, workdir,
                                       on_progress=ProgressReporter(ctx, message.job_id))
        ctx.objects.upload(result.output, message.output_key, {"job-id": message.job_id})
    summary = result.summary()
    summary["seconds"] = round(time.monotonic() - started, 3)
    return summary


class ProgressReporter:
    """Writes progress to Redis at most every half second: FFmpeg reports far more often."""

    def __init__(self, ctx: ServiceContext, job_id: str) -> None:
        self._ctx = ctx
        self._job_id = job_id
        self._last_write = 0.0

    def __call__(self, percent: int | None) -> None:
        now = time.monotonic()
        if percent is not None and now - self._last_write < PROGRESS_MIN_INTERVAL_S:
            return
        self._last_write = now
        self._ctx.jobs.report_progress(self._job_id, percent)


def parse_message(body: bytes) -> ConvertMessage | None:
    """The message, or None for a body no producer of ours could have sent."""
    try:
        return ConvertMessage.model_validate_json(body)
    except ValueError:
        log.error("unreadable queue message dropped to the dead-letter queue")
        return None
