"""Test inputs made with FFmpeg's lavfi sources, and independent checks of MP3 outputs."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from vmp3.media.tools import locate

MEDIA_DIR = Path(os.environ.get(
    "VMP3_MEDIA_DIR", Path(__file__).resolve().parents[2].parent / "shared" / "media"))
FFMPEG = locate("ffmpeg")
FFPROBE = locate("ffprobe")


def ffmpeg(*args: str | Path) -> None:
    subprocess.run([str(FFMPEG), "-nostdin", "-v", "error", "-y", *map(str, args)], check=True)


def tone(seconds: float = 2.0, rate: int = 44100, freq: int = 440) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate={rate}:duration={seconds}"]


def bars(seconds: float = 2.0) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc=size=160x120:rate=15:duration={seconds}"]


def video_with_tone(path: Path, seconds: float = 2.0, audio_codec: str = "aac",
                    extra: tuple[str, ...] = ()) -> Path:
    ffmpeg(*bars(seconds), *tone(seconds), "-c:v", "mpeg4", "-c:a", audio_codec, *extra,
           "-shortest", path)
    return path


NOT_MEDIA_KINDS = ("empty", "text", "png")


def not_media(kind: str, path: Path) -> Path:
    """A file named like a video that is nothing FFmpeg can take audio from."""
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is a shopping list, not a video\n" * 20)
    else:
        ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:duration=1", "-frames:v", "1",
               "-c:v", "png", "-f", "image2", path)
    return path


def probe(path: Path) -> dict[str, Any]:
    out = subprocess.run([str(FFPROBE), "-v", "error", "-of", "json", "-show_format",
                          "-show_streams", str(path)], check=True, capture_output=True, text=True)
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def audio_stream(path: Path) -> dict[str, Any]:
    streams = [s for s in probe(path)["streams"] if s["codec_type"] == "audio"]
    assert len(streams) == 1, streams
    return streams[0]


def _packets_and_rate(path: Path) -> tuple[int, int]:
    out = subprocess.run([str(FFPROBE), "-v", "error", "-count_packets", "-of", "json",
                          "-show_entries", "stream=nb_read_packets,sample_rate", str(path)],
                         check=True, capture_output=True, text=True)
    stream = json.loads(out.stdout)["streams"][0]
    return int(stream["nb_read_packets"]), int(stream["sample_rate"])


def packet_count(path: Path) -> int:
    """How many MP3 frames carry audio (ffprobe counts them by demuxing)."""
    return _packets_and_rate(path)[0]


def frame_duration_s(path: Path) -> float:
    """MP3 length as whole frames (priming and padding included), as the corpus states it."""
    packets, rate = _packets_and_rate(path)
    samples_per_frame = 1152 if rate >= 32000 else 576
    return packets * samples_per_frame / rate


def audio_md5(path: Path, stream: str = "0:a:0") -> str:
    """MD5 of the compressed audio packets (a stream copy keeps them byte for byte)."""
    out = subprocess.run([str(FFMPEG), "-nostdin", "-v", "error", "-i", str(path), "-map",
                          stream, "-c", "copy", "-f", "md5", "-"],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def id3_frames(path: Path) -> bytes:
    """The raw ID3v2 tag at the head of an MP3."""
    head = path.read_bytes()[:10]
    assert head[:3] == b"ID3", head
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    return path.read_bytes()[: 10 + size]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class CorpusEntry:
    file: str
    expect: str
    duration_s: float | None
    what: str


def corpus_params() -> list[Any]:
    """Corpus entries as pytest params; one "corpus-missing" param when the corpus is absent."""
    entries = corpus()
    if not entries:
        return [pytest.param(None, id="corpus-missing")]
    return [pytest.param(entry, id=entry.file) for entry in entries]


def require_entry(entry: CorpusEntry | None) -> CorpusEntry:
    """The entry, or a skip (a failure under CI) naming where the corpus was looked for."""
    if entry is None:
        from tests.conftest import require

        require(False, f"the media corpus at {MEDIA_DIR} (set VMP3_MEDIA_DIR)")
    assert entry is not None
    return entry


def corpus(media_dir: Path = MEDIA_DIR) -> list[CorpusEntry]:
    """The corpus entries; empty when the corpus is absent (its tests then skip, or fail in CI)."""
    if not (media_dir / "MANIFEST.tsv").is_file():
        return []
    with (media_dir / "MANIFEST.tsv").open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [CorpusEntry(r["file"], r["expect"],
                        float(r["mp3_duration_s"]) if r["mp3_duration_s"] else None,
                        r["what it is"]) for r in rows]
