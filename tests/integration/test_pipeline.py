"""Upload service, queue and converter together on real RabbitMQ, Redis, S3 and FFmpeg."""

from __future__ import annotations

import base64
import json
import os
import signal
from pathlib import Path

import pytest

from tests.support import media, services
from tests.support.jobs import new_owner, uploaded_job
from tests.support.stack import start_converter, wait_for
from vmp3 import lambdas
from vmp3.errors import BadRequest, NotMedia, SourceMissing, Unavailable, Vmp3Error
from vmp3.jobs import ConvertMessage, Job, Status
from vmp3.media.options import ConversionOptions
from vmp3.services import conversion, records, uploads
from vmp3.services.consumer import Consumer
from vmp3.services.context import ServiceContext


def depth(ctx: ServiceContext, dead: bool = False) -> int:
    queue = ctx.topology.dead_letter_queue if dead else ctx.topology.queue
    return services.queue_depth(ctx.settings.amqp_url, queue)


def assert_refused_at_start(ctx: ServiceContext, job: Job, error: type[Vmp3Error]) -> None:
    """/start raises ``error``, the job is failed with its code, and nothing is queued."""
    with pytest.raises(error):
        uploads.start_job(ctx, job)
    stored = records.get_owned(ctx, job.id, job.owner)
    assert stored.status == Status.FAILED
    assert stored.error is not None
    assert stored.error.code == error.code
    assert depth(ctx) == 0


def message_for(job: Job) -> ConvertMessage:
    return ConvertMessage(job_id=job.id, owner=job.owner, filename=job.filename,
                          options=job.options)


def test_start_twice_queues_once(fresh_ctx: ServiceContext, tmp_path: Path) -> None:
    job = uploaded_job(fresh_ctx, media.video_with_tone(tmp_path / "a.mp4", 1))
    first = uploads.start_job(fresh_ctx, job)
    second = uploads.start_job(fresh_ctx, records.get_owned(fresh_ctx, job.id, job.owner))
    assert first.status == second.status == Status.QUEUED
    assert depth(fresh_ctx) == 1


def test_junk_is_refused_at_start_and_nothing_is_queued(fresh_ctx: ServiceContext,
                                                        tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video\n" * 50)
    job = uploaded_job(fresh_ctx, junk)
    assert_refused_at_start(fresh_ctx, job, NotMedia)
    assert not fresh_ctx.objects.exists(job.source_key)


def test_start_without_upload_says_so_and_can_be_retried(fresh_ctx: ServiceContext) -> None:
    job, _post = uploads.create_job(fresh_ctx, new_owner(), "late.mp4", ConversionOptions())
    with pytest.raises(SourceMissing):
        uploads.start_job(fresh_ctx, job)
    assert records.get_owned(fresh_ctx, job.id, job.owner).status == Status.CREATED
    assert fresh_ctx.jobs.claim_start(job.id) is not None  # the claim was released


def test_broker_down_gives_unavailable_and_the_job_can_start_later(
        fresh_ctx: ServiceContext, tmp_path: Path) -> None:
    job = uploaded_job(fresh_ctx, media.video_with_tone(tmp_path / "a.mp4", 1))
    down = ServiceContext(fresh_ctx.settings.model_copy(
        update={"amqp_url": "amqp://guest:guest@127.0.0.1:1/%2F"}))
    with pytest.raises(Unavailable):
        uploads.start_job(down, job)
    assert records.get_owned(fresh_ctx, job.id, job.owner).status == Status.CREATED
    assert uploads.start_job(fresh_ctx, job).status == Status.QUEUED
    assert depth(fresh_ctx) == 1


def test_process_converts_stores_and_records(fresh_ctx: ServiceContext, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    job = uploaded_job(fresh_ctx, media.video_with_tone(tmp_path / "a.mp4", 2))
    assert conversion.process(fresh_ctx, message_for(job)) is conversion.Outcome.DONE
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines()
               if line.startswith('{"_aws"')]
    assert {m["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] for m in metrics} == {
        "JobsDone", "ConversionSeconds"}
    assert all(m["service"] == "converter" for m in metrics)
    stored = records.get_owned(fresh_ctx, job.id, job.owner)
    assert (stored.status, stored.progress) == (Status.DONE, 100)
    assert stored.result is not None
    assert stored.result["duration_s"] == pytest.approx(2, abs=0.1)
    assert fresh_ctx.objects.size_of(job.output_key) == stored.result["size_bytes"]
    # A second delivery of the same message changes nothing.
    assert conversion.process(fresh_ctx, message_for(job)) is conversion.Outcome.SKIPPED


def test_consumer_dead_letters_a_failed_conversion(fresh_ctx: ServiceContext,
                                                   tmp_path: Path) -> None:
    silent = tmp_path / "silent.mp4"
    media.ffmpeg(*media.bars(1), "-c:v", "mpeg4", silent)
    job = uploaded_job(fresh_ctx, silent)
    # Skip the start-time probe so the converter meets the bad file itself.
    fresh_ctx.publisher.publish(message_for(job).model_dump(mode="json"), job.id)
    Consumer(fresh_ctx).run(max_jobs=1)
    stored = records.get_owned(fresh_ctx, job.id, job.owner)
    assert stored.status == Status.FAILED
    assert stored.error is not None
    assert stored.error.code == "no_audio"
    assert (depth(fresh_ctx), depth(fresh_ctx, dead=True)) == (0, 1)
    assert not fresh_ctx.objects.exists(job.output_key)


def test_converter_killed_mid_job_is_redelivered_and_completes_once(
        fresh_ctx: ServiceContext, tmp_path: Path) -> None:
    source = media.video_with_tone(tmp_path / "long.mp4", 240)
    job = uploaded_job(fresh_ctx, source, quality=0)
    uploads.start_job(fresh_ctx, job)
    victim = start_converter(fresh_ctx)
    wait_for(lambda: records.get_owned(fresh_ctx, job.id, job.owner).status == Status.RUNNING,
             30, "the job to run")
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    assert not fresh_ctx.objects.exists(job.output_key)
    Consumer(fresh_ctx).run(max_jobs=1)
    stored = records.get_owned(fresh_ctx, job.id, job.owner)
    assert stored.status == Status.DONE
    assert (depth(fresh_ctx), depth(fresh_ctx, dead=True)) == (0, 0)
    assert list(Path(str(fresh_ctx.settings.work_dir)).glob(f"vmp3-job-{job.id}-*")) == []


def test_lambda_handlers_for_s3_events_and_rmq_batches(fresh_ctx: ServiceContext,
                                                       tmp_path: Path) -> None:
    """AWS itself cannot run here: the events are built as AWS documents them."""
    job = uploaded_job(fresh_ctx, media.video_with_tone(tmp_path / "a.mp4", 1))
    s3_event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Post",
                             "s3": {"bucket": {"name": fresh_ctx.settings.bucket},
                                    "object": {"key": job.source_key}}}]}
    assert lambdas.build_upload_handler(fresh_ctx)(s3_event, None) == {"started": [job.id]}
    assert depth(fresh_ctx) == 1

    body = json.dumps(message_for(job).model_dump(mode="json")).encode()
    rmq_event = {"eventSource": "aws:rmq", "rmqMessagesByQueue": {
        f"{fresh_ctx.topology.queue}::/": [{"data": base64.b64encode(body).decode(),
                                            "basicProperties": {}, "redelivered": False}]}}
    result = lambdas.build_converter_handler(fresh_ctx)(rmq_event, None)
    assert result == {"outcomes": ["done"]}
    assert fresh_ctx.objects.exists(job.output_key)


def test_options_the_source_cannot_honour_fail_the_job_at_start(fresh_ctx: ServiceContext,
                                                                 tmp_path: Path) -> None:
    job = uploaded_job(fresh_ctx, media.video_with_tone(tmp_path / "a.mp4", 2), start_s=30.0)
    assert_refused_at_start(fresh_ctx, job, BadRequest)
