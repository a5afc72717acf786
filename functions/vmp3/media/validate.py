"""Check an MP3 before it counts: it decodes, holds frames, has the right length and header."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vmp3.errors import ConversionFailed
from vmp3.media.confine import UNCONFINED, Confinement
from vmp3.media.process import run_tool

if TYPE_CHECKING:
    from vmp3.media.follow import FollowedDecode

VALIDATE_TIMEOUT_S = 300.0
DURATION_TOLERANCE_S = 0.1
MONO_S16_BYTES = 2
_XING_SEARCH_BYTES = 200  # the Xing/Info tag sits inside the first frame, after its side info


@dataclass(frozen=True, slots=True)
class Mp3Facts:
    duration_s: float
    sample_rate: int
    channels: int
    size_bytes: int

    @property
    def bitrate_kbps(self) -> int:
        return round(self.size_bytes * 8 / self.duration_s / 1000)


def inspect_mp3(path: Path, ffmpeg: Path, ffprobe: Path, scratch_dir: Path,
                confinement: Confinement = UNCONFINED,
                followed: FollowedDecode | None = None) -> Mp3Facts:
    """Decode the whole file and describe it; raise ConversionFailed if it is not a good MP3.

    The duration reported is the one players show (ffprobe's, from the Xing header).
    ``followed`` is the decode made while FFmpeg wrote the file (FollowingDecode); when it
    proves everything the full decode would, the file is not decoded a second time.
    """
    stream, stated_s = _probe_stream(path, ffprobe, scratch_dir, confinement)
    if followed is not None and followed.proves(path, int(stream["sample_rate"])):
        return Mp3Facts(stated_s, int(stream["sample_rate"]), int(stream["channels"]),
                        path.stat().st_size)
    decoded_s = _decoded_seconds(path, ffmpeg, scratch_dir, int(stream["sample_rate"]),
                                 confinement)
    if decoded_s <= 0:
        raise ConversionFailed("the MP3 holds no audio frames")
    # A cut-off file still carries the header written for the whole one.
    check_duration(stated_s, decoded_s, "the audio it holds")
    return Mp3Facts(stated_s, int(stream["sample_rate"]), int(stream["channels"]),
                    path.stat().st_size)


def _probe_stream(path: Path, ffprobe: Path, scratch_dir: Path,
                  confinement: Confinement) -> tuple[dict[str, str], float]:
    completed = run_tool(
        [ffprobe, "-v", "error", "-of", "json", "-show_streams", "-show_format",
         "-f", "mp3", f"file:{path}"],
        timeout_s=VALIDATE_TIMEOUT_S, stderr_path=scratch_dir / "validate-probe.stderr",
        confinement=confinement,
    )
    data = json.loads(completed.stdout or "{}") if completed.returncode == 0 else {}
    streams = [s for s in data.get("streams", []) if s.get("codec_name") == "mp3"]
    if len(streams) != 1:
        raise ConversionFailed(
            f"the output is not a single-track MP3 ({completed.last_error_line})")
    duration = float(data.get("format", {}).get("duration") or 0)
    return streams[0], duration


def _decoded_seconds(path: Path, ffmpeg: Path, scratch_dir: Path, sample_rate: int,
                     confinement: Confinement) -> float:
    """Decode every frame and count the samples: exact, and proof that the file decodes."""
    decoded_bytes = 0

    def count(chunk: bytes) -> None:
        nonlocal decoded_bytes
        decoded_bytes += len(chunk)

    completed = run_tool(
        [ffmpeg, "-nostdin", "-v", "error", "-xerror", "-f", "mp3", "-i", f"file:{path}",
         "-map", "0:a:0", "-ac", "1", "-f", "s16le", "-"],
        timeout_s=VALIDATE_TIMEOUT_S, stderr_path=scratch_dir / "validate-decode.stderr",
        on_stdout_chunk=count, confinement=confinement,
    )
    if completed.returncode != 0:
        raise ConversionFailed(f"the MP3 does not decode: {completed.last_error_line}")
    return decoded_bytes / MONO_S16_BYTES / sample_rate if sample_rate > 0 else 0.0


def has_xing_header(path: Path) -> bool:
    """True when the first MP3 frame carries a Xing (VBR) or Info (CBR) tag."""
    with path.open("rb") as handle:
        head = handle.read(10)
        skip = id3v2_size(head)
        handle.seek(skip)
        first_frame = handle.read(_XING_SEARCH_BYTES)
    return b"Xing" in first_frame or b"Info" in first_frame


def id3v2_size(head: bytes) -> int:
    if len(head) < 10 or head[:3] != b"ID3":
        return 0
    syncsafe = head[6:10]
    body = (syncsafe[0] << 21) | (syncsafe[1] << 14) | (syncsafe[2] << 7) | syncsafe[3]
    footer = 10 if head[5] & 0x10 else 0
    return 10 + body + footer


def check_duration(actual_s: float, expected_s: float, what: str) -> None:
    """Raise ConversionFailed unless the MP3's duration is within tolerance of ``expected_s``."""
    if abs(actual_s - expected_s) > DURATION_TOLERANCE_S:
        raise ConversionFailed(
            f"the MP3 lasts {actual_s:.2f} s but {what} is {expected_s:.2f} s"
        )
