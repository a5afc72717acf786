"""Probe a local media file with ffprobe and turn every way it can fail into a named error."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vmp3.errors import NoAudio, NotMedia, Truncated, UndecodableAudio, UnsupportedFormat
from vmp3.media import formats, isobmff
from vmp3.media.confine import UNCONFINED, Confinement
from vmp3.media.options import MAX_MEDIA_SECONDS
from vmp3.media.process import run_tool

PROBE_TIMEOUT_S = 60.0
# Below this many bits per second of file a claimed duration is not believable
# (a fragmented MP4 here claims 143165 s for one second of audio).
MIN_PLAUSIBLE_BITS_PER_S = 1000.0
TAG_KEYS = ("title", "artist", "album", "date", "comment", "genre")
MAX_TAG_CHARS = 1000  # a tag is a label; a source's 200 kB "title" is cut, not carried
_TAG_CONTROLS = dict.fromkeys(c for c in range(32) if chr(c) not in "\n\t")
_TAG_ALIASES = {"year": "date", "description": "comment"}
_NOT_ON_WHITELIST = re.compile(r"\[(?P<demuxer>[\w,]+) @ [^\]]+\] Format not on whitelist")


@dataclass(frozen=True, slots=True)
class AudioStream:
    index: int  # absolute stream index, for -map 0:N
    codec: str | None
    sample_rate: int
    channels: int
    channel_layout: str | None
    language: str | None
    is_default: bool
    duration_s: float | None
    tags: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"index": self.index, "codec": self.codec, "sample_rate": self.sample_rate,
                "channels": self.channels, "language": self.language}


@dataclass(frozen=True, slots=True)
class ProbeResult:
    format_name: str
    size_bytes: int
    claimed_duration_s: float | None
    audio: tuple[AudioStream, ...]
    video_streams: int
    attached_pictures: int
    tags: dict[str, str]

    def describe(self) -> dict[str, object]:
        return {"format": self.format_name, "audio_tracks": len(self.audio),
                "video_streams": self.video_streams,
                "attached_pictures": self.attached_pictures}

    def plausible_duration(self, stream: AudioStream) -> float | None:
        """The stream's duration if believable, else None ("unknown")."""
        duration = stream.duration_s or self.claimed_duration_s
        if duration is None or duration <= 0 or duration > MAX_MEDIA_SECONDS:
            return None
        if self.size_bytes * 8 / duration < MIN_PLAUSIBLE_BITS_PER_S:
            return None
        return duration


def probe(path: Path, ffprobe: Path, scratch_dir: Path,
          confinement: Confinement = UNCONFINED) -> ProbeResult:
    """Probe ``path``; raise the MediaError that says why it is not usable."""
    size = path.stat().st_size
    if size == 0:
        raise NotMedia("the file is empty")
    with path.open("rb") as handle:
        pointer_format = formats.reference_format(handle.read(formats.SNIFF_BYTES))
    if pointer_format is not None:
        raise UnsupportedFormat(_refers_elsewhere(pointer_format))
    completed = run_tool(
        [ffprobe, "-v", "error", "-hide_banner", *formats.hardening_input_args(),
         "-of", "json", "-show_format", "-show_streams", f"file:{path}"],
        timeout_s=PROBE_TIMEOUT_S,
        stderr_path=scratch_dir / "probe.stderr",
        confinement=confinement,
    )
    if completed.returncode != 0:
        raise _probe_failure(path, completed.stderr)
    return _parse(json.loads(completed.stdout or "{}"), size)


def _probe_failure(path: Path, stderr: str) -> Exception:
    refused = _NOT_ON_WHITELIST.search(stderr)
    if refused:
        demuxer = refused.group("demuxer")
        if formats.is_image_demuxer(demuxer):
            return NotMedia(f"this is a still image ({demuxer.removesuffix('_pipe')}), not a video")
        return UnsupportedFormat(_refers_elsewhere(demuxer))
    if isobmff.is_cut_short(path):
        return Truncated("the file is cut short: its index (moov) is missing, so the upload "
                         "was cut off or the recording was never finished")
    return NotMedia("this is not a video or audio file vmp3 can read")


def _refers_elsewhere(kind: str) -> str:
    return f"'{kind}' input is not accepted: it refers to other files or URLs"


def _parse(data: dict[str, Any], size: int) -> ProbeResult:
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    audio = tuple(_audio(s) for s in streams if s.get("codec_type") == "audio")
    pictures = sum(1 for s in streams if (s.get("disposition") or {}).get("attached_pic"))
    videos = sum(1 for s in streams if s.get("codec_type") == "video") - pictures
    return ProbeResult(
        format_name=str(fmt.get("format_name", "")),
        size_bytes=size,
        claimed_duration_s=_float(fmt.get("duration")),
        audio=audio,
        video_streams=videos,
        attached_pictures=pictures,
        tags=normalize_tags(fmt.get("tags") or {}),
    )


def _audio(stream: dict[str, Any]) -> AudioStream:
    tags = {str(k).lower(): str(v) for k, v in (stream.get("tags") or {}).items()}
    return AudioStream(
        index=int(stream["index"]),
        codec=stream.get("codec_name"),
        sample_rate=int(stream.get("sample_rate") or 0),
        channels=int(stream.get("channels") or 0),
        channel_layout=stream.get("channel_layout") or None,
        language=tags.get("language"),
        is_default=bool((stream.get("disposition") or {}).get("default")),
        duration_s=_float(stream.get("duration")),
        tags=normalize_tags(tags),
    )


def normalize_tags(raw: dict[str, Any]) -> dict[str, str]:
    """Keep only the descriptive tags an MP3 should carry, with lower-case names."""
    tags: dict[str, str] = {}
    for key, value in raw.items():
        name = _TAG_ALIASES.get(str(key).lower(), str(key).lower())
        text = str(value).translate(_TAG_CONTROLS).strip()[:MAX_TAG_CHARS]
        if name in TAG_KEYS and text and name not in tags:
            tags[name] = text
    return tags


def require_decodable(stream: AudioStream) -> None:
    if stream.codec is None or stream.sample_rate <= 0 or stream.channels <= 0:
        raise UndecodableAudio("the audio track has no usable description and cannot be decoded")


def require_audio(result: ProbeResult) -> None:
    if not result.audio:
        raise NoAudio("the file has no audio track")


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN is not a duration
