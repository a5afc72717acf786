"""Converter Lambda sizing, derived from the FFmpeg benchmark in FACTS.md and the upload limits.

Benchmark (2 cores, FFmpeg CLI, 10-minute 640x360 H.264+AAC video to 192k CBR MP3):
5.8 s wall time, 56 MB peak memory; MP3 (LAME) encoding is ~85% of it and single-threaded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BENCH_MEDIA_S = 600.0
BENCH_FFMPEG_S = 5.8
BENCH_PEAK_MB = 56
# Assumed: a Lambda vCPU is up to twice as slow as a benchmark core (not measured on Lambda).
LAMBDA_SLOWDOWN = 2.0
# Assumed single-stream S3 throughput from Lambda inside the region, MB/s.
S3_MB_PER_S = 60.0
# Cold start, probe, Redis/S3 round trips, tagging: a fixed allowance per job.
OVERHEAD_S = 30.0
SAFETY = 1.5
# 1,769 MB is where Lambda grants one full vCPU; LAME cannot use a second one.
ONE_VCPU_MB = 1769
# The largest MP3 a job can produce: 320 kb/s for the whole allowed duration.
MAX_MP3_KBPS = 320
LAMBDA_MAX_TIMEOUT_S = 900
LAMBDA_MAX_EPHEMERAL_MB = 10240
LAMBDA_MIN_EPHEMERAL_MB = 512
MB = 1_000_000


@dataclass(frozen=True, slots=True)
class ConverterSizing:
    memory_mb: int
    ephemeral_mb: int
    timeout_s: int
    # FFmpeg's own deadline: it must fire before Lambda kills the sandbox, so the job is
    # marked failed and the message nacked instead of vanishing in a timeout.
    conversion_timeout_s: int
    estimated_ffmpeg_s: float
    estimated_transfer_s: float


def max_output_bytes(max_duration_s: float) -> int:
    return math.ceil(max_duration_s * MAX_MP3_KBPS * 1000 / 8)


def converter_sizing(max_upload_bytes: int, max_duration_s: float) -> ConverterSizing:
    """Size the converter for the worst job the limits admit; refuse limits Lambda cannot hold."""
    ffmpeg_s = max_duration_s / BENCH_MEDIA_S * BENCH_FFMPEG_S * LAMBDA_SLOWDOWN
    moved_bytes = max_upload_bytes + max_output_bytes(max_duration_s)
    transfer_s = moved_bytes / MB / S3_MB_PER_S
    timeout_s = _round_up(math.ceil((ffmpeg_s + transfer_s + OVERHEAD_S) * SAFETY), 60)
    if timeout_s > LAMBDA_MAX_TIMEOUT_S:
        raise ValueError(
            f"the worst job needs ~{timeout_s} s, over Lambda's {LAMBDA_MAX_TIMEOUT_S} s cap: "
            "lower max_duration_s/max_upload_bytes or run the Fargate consumer (ADR 0002)")
    # Input and output both sit in /tmp during a job; 20% for FFmpeg's temp file and rename.
    ephemeral_mb = _round_up(math.ceil(moved_bytes * 1.2 / 1024**2), 256)
    ephemeral_mb = max(ephemeral_mb, LAMBDA_MIN_EPHEMERAL_MB)
    if ephemeral_mb > LAMBDA_MAX_EPHEMERAL_MB:
        raise ValueError(f"the worst job needs {ephemeral_mb} MB of /tmp, over Lambda's 10 GB")
    conversion_timeout_s = int(timeout_s - transfer_s - OVERHEAD_S)
    return ConverterSizing(
        memory_mb=ONE_VCPU_MB,
        ephemeral_mb=ephemeral_mb,
        timeout_s=timeout_s,
        conversion_timeout_s=conversion_timeout_s,
        estimated_ffmpeg_s=round(ffmpeg_s, 1),
        estimated_transfer_s=round(transfer_s, 1),
    )


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


@dataclass(frozen=True, slots=True)
class UploadSizing:
    memory_mb: int
    ephemeral_mb: int
    timeout_s: int


# The upload function downloads the whole upload to probe it (FFmpeg reads local files only).
UPLOAD_MEMORY_MB = 1024
PROBE_S = 30.0


def upload_sizing(max_upload_bytes: int) -> UploadSizing:
    transfer_s = max_upload_bytes / MB / S3_MB_PER_S
    timeout_s = _round_up(math.ceil((transfer_s + PROBE_S + OVERHEAD_S) * SAFETY), 30)
    ephemeral_mb = max(_round_up(math.ceil(max_upload_bytes * 1.1 / 1024**2), 256),
                       LAMBDA_MIN_EPHEMERAL_MB)
    if timeout_s > LAMBDA_MAX_TIMEOUT_S or ephemeral_mb > LAMBDA_MAX_EPHEMERAL_MB:
        raise ValueError("max_upload_bytes is too large for the upload function to probe")
    return UploadSizing(memory_mb=UPLOAD_MEMORY_MB, ephemeral_mb=ephemeral_mb, timeout_s=timeout_s)
