"""Reliability against the real local services: kills, restarts, poison, duplicates, faults.

Each test records its figure for docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import media, services
from tests.support.converters import Supervisor, holder_pid
from tests.support.faultproxy import Faults, fault_proxy
from tests.support.figures import FigureBook
from tests.support.jobs import new_owner, uploaded_job
from tests.support.stack import start_converter, wait_for
from vmp3.errors import Unavailable
from vmp3.jobs import ConvertMessage, Job, Status
from vmp3.services import conversion, records, uploads
from vmp3.services.context import ServiceContext

pytestmark = pytest.mark.e2e
SECTION = "Reliability"


def submit(ctx: ServiceContext, source: Path, count: int, owner: str | None = None) -> list[Job]:
    owner = owner or new_owner()
    jobs = [uploaded_job(ctx, source, owner=owner) for _ in range(count)]
    for job in jobs:
        uploads.start_job(ctx, job)
    return jobs


def statuses(ctx: ServiceContext, jobs: list[Job]) -> list[Status]:
    return [records.get_owned(ctx, job.id, job.owner).status for job in jobs]


def all_final(ctx: ServiceContext, jobs: list[Job]) -> bool:
    return all(status.is_final for status in statuses(ctx, jobs))


def outputs_of(ctx: ServiceContext, owner: str) -> list[str]:
    return ctx.objects.newest_keys(f"outputs/{owner}/", 1000)


def job_dirs(ctx: ServiceContext) -> list[Path]:
    return list(Path(str(ctx.settings.work_dir)).glob("vmp3-job-*"))


@pytest.fixture(scope="module")
def long_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five minutes of audio: long enough to kill a converter in the middle."""
    path = tmp_path_factory.mktemp("media") / "long.m4a"
    media.ffmpeg(*media.tone(300, 44100), "-c:a", "aac", "-b:a", "64k", path)
    return path


@pytest.fixture(scope="module")
def short_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return media.video_with_tone(tmp_path_factory.mktemp("media") / "short.mp4", 1)


def test_kill_9_mid_conversion_twenty_times(fresh_ctx: ServiceContext, long_audio: Path,
                                            figures: FigureBook) -> None:
    jobs = submit(fresh_ctx, long_audio, 20)
    killed: set[str] = set()
    with Supervisor(fresh_ctx, size=2) as supervisor:
        deadline = time.monotonic() + 300
        while len(killed) < len(jobs) and time.monotonic() < deadline:
            for job in jobs:
                pid = holder_pid(fresh_ctx, job.id) if job.id not in killed else None
                if pid is not None and supervisor.kill(pid):
                    killed.add(job.id)
            time.sleep(0.02)
        wait_for(lambda: all_final(fresh_ctx, jobs), 300, "20 jobs to finish")
    final = statuses(fresh_ctx, jobs)
    outputs = outputs_of(fresh_ctx, jobs[0].owner)
    leftovers = job_dirs(fresh_ctx)
    figures.record(SECTION, "kill -9 a converter mid-conversion, 20 times",
                   f"{len(killed)} kills; {final.count(Status.DONE)}/20 done; "
                   f"{len(outputs)} outputs for 20 jobs; {len(leftovers)} temp dirs left; "
                   f"{final.count(Status.RUNNING)} stuck running")
    assert len(killed) == 20
    assert final == [Status.DONE] * 20
    assert sorted(outputs) == sorted(job.output_key for job in jobs)
    assert leftovers == []


def test_sigterm_finishes_the_job_in_hand(fresh_ctx: ServiceContext, long_audio: Path,
                                          figures: FigureBook) -> None:
    [job] = submit(fresh_ctx, long_audio, 1)
    worker = start_converter(fresh_ctx, {"VMP3_SHUTDOWN_GRACE_S": "60"})
    wait_for(lambda: holder_pid(fresh_ctx, job.id) == worker.pid, 30, "the job to start")
    stopped_at = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    exit_code = worker.wait(timeout=90)
    took = time.monotonic() - stopped_at
    stored = records.get_owned(fresh_ctx, job.id, job.owner)
    figures.record(SECTION, "SIGTERM with a job in hand (grace 60 s)",
                   f"converter exited {exit_code} after {took:.1f} s; job {stored.status}")
    assert (exit_code, stored.status) == (0, Status.DONE)


def test_sigterm_past_the_grace_hands_the_job_back(fresh_ctx: ServiceContext, long_audio: Path,
                                                   figures: FigureBook) -> None:
    [job] = submit(fresh_ctx, long_audio, 1)
    worker = start_converter(fresh_ctx, {"VMP3_SHUTDOWN_GRACE_S": "0"})
    wait_for(lambda: holder_pid(fresh_ctx, job.id) == worker.pid, 30, "the job to start")
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=30)
    handed_back = records.get_owned(fresh_ctx, job.id, job.owner).status
    with Supervisor(fresh_ctx, size=1):
        wait_for(lambda: all_final(fresh_ctx, [job]), 120, "the handed-back job")
    stored = records.get_owned(fresh_ctx, job.id, job.owner)
    figures.record(SECTION, "SIGTERM with grace 0",
                   f"job {handed_back} when the converter left, then {stored.status} "
                   f"by another converter ({stored.attempts} attempts)")
    assert stored.status == Status.DONE


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


@contextmanager
def broker_restart_midway() -> Iterator[threading.Thread]:
    def restart() -> None:
        time.sleep(2)
        rabbitmqctl("stop_app")
        time.sleep(3)
        rabbitmqctl("start_app")

    thread = threading.Thread(target=restart)
    thread.start()
    try:
        yield thread
    finally:
        thread.join()
        rabbitmqctl("await_startup")


def start_with_retry(ctx: ServiceContext, job: Job, refusals: list[str]) -> None:
    """What a client does with a 503: wait a moment and try again."""
    while True:
        try:
            uploads.start_job(ctx, records.get_owned(ctx, job.id, job.owner))
            return
        except Unavailable:
            refusals.append(job.id)
            time.sleep(0.5)


def test_rabbitmq_restart_during_a_burst_of_100(fresh_ctx: ServiceContext, short_video: Path,
                                                figures: FigureBook) -> None:
    owner = new_owner()
    jobs = [uploaded_job(fresh_ctx, short_video, owner=owner) for _ in range(100)]
    refusals: list[str] = []
    with Supervisor(fresh_ctx, size=2), broker_restart_midway():
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda job: start_with_retry(fresh_ctx, job, refusals), jobs))
        wait_for(lambda: all_final(fresh_ctx, jobs), 300, "100 jobs to finish")
    final = statuses(fresh_ctx, jobs)
    figures.record(SECTION, "RabbitMQ restarted during a burst of 100 jobs",
                   f"{final.count(Status.DONE)}/100 done; {len(refusals)} starts answered 503 "
                   f"and were retried; {len(outputs_of(fresh_ctx, owner))} outputs")
    assert final == [Status.DONE] * 100


def restart_redis() -> None:
    subprocess.run(["redis-cli", "shutdown", "nosave"], capture_output=True, timeout=30)
    services.wait_port_closed(6379)
    subprocess.run(services.REDIS_START, check=True, timeout=30)
    services.wait_port_open(6379)


def test_redis_restart_loses_no_job(fresh_ctx: ServiceContext, short_video: Path,
                                    long_audio: Path, figures: FigureBook) -> None:
    owner = new_owner()
    done = submit(fresh_ctx, short_video, 5, owner)
    with Supervisor(fresh_ctx, size=2):
        wait_for(lambda: all_final(fresh_ctx, done), 120, "the first jobs")
        pending = submit(fresh_ctx, long_audio, 3, owner)
        restart_redis()
        wait_for(lambda: all_final(fresh_ctx, pending), 300, "jobs queued across the restart")
    answered = [records.get_owned(fresh_ctx, job.id, owner).status for job in done + pending]
    listed = {job.id for job in records.list_owned(fresh_ctx, owner)}
    figures.record(SECTION, "Redis restarted (nothing on disk)",
                   f"{answered.count(Status.DONE)}/{len(answered)} jobs answer done; "
                   f"{len(listed)}/{len(answered)} listed")
    assert answered == [Status.DONE] * 8
    assert listed == {job.id for job in done + pending}


def test_poison_reaches_the_dead_letter_queue_alone(fresh_ctx: ServiceContext,
                                                    short_video: Path, long_audio: Path,
                                                    figures: FigureBook) -> None:
    [poison] = submit(fresh_ctx, long_audio, 1)
    others = submit(fresh_ctx, short_video, 20)
    kills = 0
    with Supervisor(fresh_ctx, size=2) as supervisor:
        deadline = time.monotonic() + 300
        while not all_final(fresh_ctx, [poison, *others]) and time.monotonic() < deadline:
            pid = holder_pid(fresh_ctx, poison.id)
            if pid is not None and supervisor.kill(pid):
                kills += 1
            time.sleep(0.02)
    stored = records.get_owned(fresh_ctx, poison.id, poison.owner)
    dead = services.queue_depth(fresh_ctx.settings.amqp_url, fresh_ctx.topology.dead_letter_queue)
    final = statuses(fresh_ctx, others)
    figures.record(SECTION, "poison job that kills its converter every time",
                   f"{kills} converter deaths, then {stored.status} "
                   f"({stored.error.code if stored.error else '-'}); {dead} dead-lettered; "
                   f"{final.count(Status.DONE)}/20 other jobs done")
    assert stored.status == Status.FAILED
    assert stored.error is not None
    assert stored.error.code == conversion.CRASHED
    assert kills == fresh_ctx.topology.delivery_limit
    assert dead == 1
    assert final == [Status.DONE] * 20


@contextmanager
def status_sampler(ctx: ServiceContext, job: Job) -> Iterator[list[Status]]:
    seen: list[Status] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            stored = ctx.jobs.get(job.id)
            if stored is not None and (not seen or seen[-1] != stored.status):
                seen.append(stored.status)
            time.sleep(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join()


def test_same_message_five_times(fresh_ctx: ServiceContext, long_audio: Path,
                                 figures: FigureBook) -> None:
    job = uploaded_job(fresh_ctx, long_audio)
    message = ConvertMessage(job_id=job.id, owner=job.owner, filename=job.filename)
    with status_sampler(fresh_ctx, job) as seen, Supervisor(fresh_ctx, size=2):
        for _ in range(5):
            fresh_ctx.publisher.publish(message.model_dump(mode="json"), job.id)
        wait_for(lambda: all_final(fresh_ctx, [job]) and services.queue_depth(
            fresh_ctx.settings.amqp_url, fresh_ctx.topology.queue) == 0, 120, "all 5 deliveries")
        time.sleep(1)
    stored = records.get_owned(fresh_ctx, job.id, job.owner)
    ranks = [status.rank for status in seen]
    figures.record(SECTION, "the same message delivered 5 times",
                   f"{len(outputs_of(fresh_ctx, job.owner))} output, {stored.attempts} conversion; "
                   f"statuses seen {' -> '.join(seen)}")
    assert ranks == sorted(ranks)
    assert stored.status == Status.DONE
    assert stored.attempts == 1
    assert len(outputs_of(fresh_ctx, job.owner)) == 1


def test_s3_errors_while_storing_the_output(fresh_ctx: ServiceContext, long_audio: Path,
                                            figures: FigureBook) -> None:
    job = uploaded_job(fresh_ctx, long_audio, bitrate_kbps=320)  # 12 MB: a multipart upload
    message = ConvertMessage(job_id=job.id, owner=job.owner, filename=job.filename,
                             options=job.options)
    faults = Faults(path_part="/outputs/", count=3)
    upstream = fresh_ctx.settings.s3_endpoint_url or ""
    with fault_proxy(upstream, faults) as proxy:
        flaky = ServiceContext(fresh_ctx.settings.model_copy(update={
            "s3_endpoint_url": proxy, "s3_multipart_threshold_bytes": 5 * 1024**2}))
        outcome = conversion.process(flaky, message)
    stored = records.get_owned(fresh_ctx, job.id, job.owner)
    assert stored.result is not None
    size = fresh_ctx.objects.size_of(job.output_key)
    pending = fresh_ctx.objects._s3.list_multipart_uploads(Bucket=fresh_ctx.settings.bucket)
    figures.record(SECTION, "S3 answering 500 to the first 3 writes of a 12 MB MP3 (multipart)",
                   f"{faults.failed} failures retried; job {outcome}; object {size} bytes "
                   f"= {stored.result['size_bytes']}; "
                   f"{len(pending.get('Uploads', []))} incomplete multipart uploads")
    assert outcome == conversion.Outcome.DONE
    assert size == stored.result["size_bytes"]
    assert pending.get("Uploads", []) == []


def test_s3_down_for_the_output_leaves_nothing_partial(fresh_ctx: ServiceContext,
                                                       long_audio: Path,
                                                       figures: FigureBook) -> None:
    job = uploaded_job(fresh_ctx, long_audio, bitrate_kbps=320)
    message = ConvertMessage(job_id=job.id, owner=job.owner, filename=job.filename,
                             options=job.options)
    faults = Faults(path_part="partNumber=", count=10_000)  # every part of the upload fails
    with fault_proxy(fresh_ctx.settings.s3_endpoint_url or "", faults) as proxy:
        flaky = ServiceContext(fresh_ctx.settings.model_copy(update={
            "s3_endpoint_url": proxy, "s3_multipart_threshold_bytes": 5 * 1024**2}))
        with pytest.raises(Unavailable):
            conversion.process(flaky, message)
    pending = fresh_ctx.objects._s3.list_multipart_uploads(Bucket=fresh_ctx.settings.bucket)
    stored = records.get_owned(fresh_ctx, job.id, job.owner)
    figures.record(SECTION, "S3 refusing every part of a multipart MP3 upload",
                   f"{faults.failed} failed requests; job {stored.status} (handed back to the "
                   f"queue); output exists: {fresh_ctx.objects.exists(job.output_key)}; "
                   f"{len(pending.get('Uploads', []))} incomplete multipart uploads")
    assert not fresh_ctx.objects.exists(job.output_key)
    assert pending.get("Uploads", []) == []
    assert stored.status == Status.RUNNING


def close_connection_of(pid: int) -> bool:
    """What the broker does when a consumer outlives consumer_timeout: drop its channel."""
    listed = subprocess.run(["rabbitmqctl", "-q", "list_connections", "pid",
                             "client_properties", "--formatter", "json"],
                            check=True, capture_output=True, text=True, timeout=60)
    for connection in json.loads(listed.stdout):
        if f"vmp3-converter-{pid}" in json.dumps(connection["client_properties"]):
            local_pid = "<0." + connection["pid"].split(".", 1)[1]  # "#PID<n.X.Y>" -> "<0.X.Y>"
            rabbitmqctl("eval", f'rabbit_networking:close_connection(list_to_pid("{local_pid}"),'
                                ' "consumer timeout (test)").')
            return True
    return False


def test_job_outliving_the_consumer_timeout(fresh_ctx: ServiceContext, long_audio: Path,
                                            figures: FigureBook) -> None:
    [job] = submit(fresh_ctx, long_audio, 1)
    with Supervisor(fresh_ctx, size=2):
        wait_for(lambda: holder_pid(fresh_ctx, job.id) is not None, 30, "the job to start")
        first = holder_pid(fresh_ctx, job.id)
        assert first is not None
        assert close_connection_of(first)
        wait_for(lambda: all_final(fresh_ctx, [job]) and services.queue_depth(
            fresh_ctx.settings.amqp_url, fresh_ctx.topology.queue) == 0, 180, "the job")
        time.sleep(2)
    stored = records.get_owned(fresh_ctx, job.id, job.owner)
    figures.record(SECTION, "a job outliving the broker's consumer timeout",
                   f"job {stored.status} after {stored.attempts} conversion; "
                   f"{len(outputs_of(fresh_ctx, job.owner))} output")
    assert stored.status == Status.DONE
    assert stored.attempts == 1
    assert len(outputs_of(fresh_ctx, job.owner)) == 1


def test_sigkill_leaves_no_ffmpeg_behind(fresh_ctx: ServiceContext, long_audio: Path,
                                         figures: FigureBook) -> None:
    [job] = submit(fresh_ctx, long_audio, 1)
    worker = start_converter(fresh_ctx)
    wait_for(lambda: holder_pid(fresh_ctx, job.id) == worker.pid, 30, "the job to start")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    time.sleep(0.5)
    orphans = subprocess.run(["pgrep", "-f", f"vmp3-job-{job.id}"], capture_output=True,
                             text=True).stdout.split()
    figures.record(SECTION, "FFmpeg processes left after a converter's SIGKILL",
                   f"{len(orphans)}")
    assert orphans == []
