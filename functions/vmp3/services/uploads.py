"""Upload service: create a job with a presigned POST, then verify, probe and queue it."""

from __future__ import annotations

import logging
from pathlib import PurePosixPath
from typing import Any

from vmp3.errors import BadRequest, MediaError, SourceMissing, TooLarge
from vmp3.jobs import ConvertMessage, Job, Status, is_job_id, new_job_id
from vmp3.media.options import ConversionOptions
from vmp3.observability import jobs_submitted
from vmp3.services import records
from vmp3.services.context import ServiceContext
from vmp3.workspace import job_dir

log = logging.getLogger(__name__)
MAX_FILENAME_CHARS = 255


def clean_filename(name: str) -> str:
    """Keep the uploaded name as metadata only: no path, no control characters, bounded."""
    base = PurePosixPath(name.replace("\\", "/")).name
    printable = "".join(ch for ch in base if ch.isprintable())
    return printable[:MAX_FILENAME_CHARS]


def create_job(ctx: ServiceContext, owner: str, filename: str,
               options: ConversionOptions) -> tuple[Job, dict[str, Any]]:
    job = Job(id=new_job_id(), owner=owner, filename=clean_filename(filename), options=options)
    records.create(ctx, job)
    upload = ctx.objects.presigned_post(job.source_key, ctx.settings.max_upload_bytes,
                                        ctx.settings.upload_url_expiry_s)
    return job, upload


def start_job(ctx: ServiceContext, job: Job) -> Job:
    """Verify and probe the upload, then queue it once; a repeated call changes nothing."""
    if job.status is not Status.CREATED:
        return job
    release = ctx.jobs.claim_start(job.id)
    if release is None:
        return job  # another call is starting it right now
    try:
        _check_and_probe(ctx, job)
    except (MediaError, BadRequest) as exc:  # the file, or its options, can never work
        records.fail(ctx, job, exc.code, exc.message)
        ctx.objects.delete(job.source_key)  # junk is not kept
        raise
    except Exception:
        release()  # nothing was queued: let the caller try again
        raise
    _queue(ctx, job, release)
    return records.get(ctx, job.id, job.owner) or job


def _check_and_probe(ctx: ServiceContext, job: Job) -> None:
    size = ctx.objects.size_of(job.source_key)
    if size is None:
        raise SourceMissing("no upload found for this job: POST the file to the upload URL first")
    limit = ctx.settings.max_upload_bytes
    if size > limit:
        raise TooLarge(f"the upload is {size} bytes; the limit is {limit} bytes")
    with job_dir(job.id, ctx.settings.work_dir) as workdir:
        source = workdir / "source"
        ctx.objects.download(job.source_key, source)
        ctx.converter.plan(source, job.options, workdir)


def _queue(ctx: ServiceContext, job: Job, release: Any) -> None:
    message = ConvertMessage(job_id=job.id, owner=job.owner, filename=job.filename,
                             options=job.options)
    try:
        ctx.publisher.publish(message.model_dump(mode="json"), message_id=job.id)
    except Exception:
        release()
        raise
    # After the publish: a converter that already took the job has moved it past queued,
    # and the forward-only rule keeps this write from undoing that.
    records.advance(ctx, job, Status.QUEUED)
    jobs_submitted()
    log.info("job queued", extra={"job_id": job.id})


def start_from_object_key(ctx: ServiceContext, key: str) -> Job | None:
    """Start the job an S3 ObjectCreated event names; None for keys that are not uploads."""
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != "uploads" or not is_job_id(parts[2]):
        return None
    job = records.get(ctx, parts[2], parts[1])
    if job is None:
        return None
    try:
        return start_job(ctx, job)
    except MediaError:
        return records.get(ctx, job.id, job.owner)  # refused: the job now says why
