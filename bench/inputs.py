"""Benchmark inputs, built once with FFmpeg's lavfi sources and cached under bench/work/."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

WORK = Path(__file__).resolve().parent / "work"
INPUTS = WORK / "inputs"


@dataclass(frozen=True, slots=True)
class Input:
    name: str
    seconds: int
    size: str  # WxH of the video
    fps: int
    audio: str  # "aac" or "mp3"
    label: str

    @property
    def path(self) -> Path:
        return INPUTS / f"{self.name}.mp4"


V1 = Input("v1min", 60, "640x360", 25, "aac", "1 min 640x360 H.264 + AAC")
V10 = Input("v10min", 600, "640x360", 25, "aac", "10 min 640x360 H.264 + AAC")
V60 = Input("v60min", 3600, "640x360", 25, "aac", "60 min 640x360 H.264 + AAC")
V10_MP3 = Input("v10min-mp3", 600, "640x360", 25, "mp3", "10 min 640x360 H.264 + MP3")
V180 = Input("v3h-low", 10800, "160x90", 5, "aac", "3 h 160x90 5 fps H.264 + AAC (low bitrate)")
ALL = (V1, V10, V60, V10_MP3, V180)


def _audio_graph(seconds: int) -> str:
    """Stereo noise plus tones: pink noise + a beeping 440 Hz on the left, brown + 659 Hz right."""
    d = f"r=48000:d={seconds}"
    return (f"anoisesrc=c=pink:a=0.08:seed=1:{d}[n1];anoisesrc=c=brown:a=0.08:seed=2:{d}[n2];"
            f"sine=f=440:beep_factor=4:{d}[s1];sine=f=659:beep_factor=2:{d}[s2];"
            "[n1][s1]amix=inputs=2:normalize=0[l];[n2][s2]amix=inputs=2:normalize=0[r];"
            "[l][r]join=inputs=2:channel_layout=stereo[a]")


def _generate(ffmpeg: Path, item: Input, target: Path) -> None:
    if item.audio == "mp3":  # same picture as the AAC 10-minute video, audio re-encoded to MP3
        source = ensure(ffmpeg, V10)
        argv = [str(ffmpeg), "-nostdin", "-v", "error", "-y", "-i", str(source), "-map", "0",
                "-c:v", "copy", "-c:a", "libmp3lame", "-b:a", "192k", "-movflags", "+faststart",
                str(target)]
    else:
        crf = "28" if item.size == "640x360" else "32"
        argv = [str(ffmpeg), "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                f"testsrc2=s={item.size}:r={item.fps}:d={item.seconds}",
                "-filter_complex", _audio_graph(item.seconds), "-map", "0:v", "-map", "[a]",
                "-c:v", "libx264", "-preset", "veryfast", "-crf", crf, "-pix_fmt", "yuv420p",
                "-g", str(item.fps * 10), "-c:a", "aac", "-b:a", "128k", "-ac", "2",
                "-movflags", "+faststart", str(target)]
    subprocess.run(argv, check=True)


def ensure(ffmpeg: Path, item: Input) -> Path:
    """The input's path, generating it first if it is not there yet."""
    if item.path.exists():
        return item.path
    INPUTS.mkdir(parents=True, exist_ok=True)
    partial = item.path.with_suffix(".partial.mp4")
    started = time.monotonic()
    print(f"generating {item.label} ...", flush=True)
    _generate(ffmpeg, item, partial)
    partial.rename(item.path)
    print(f"  {item.path.name}: {item.path.stat().st_size / 1e6:.1f} MB "
          f"in {time.monotonic() - started:.1f} s", flush=True)
    return item.path


def ensure_all(ffmpeg: Path, items: tuple[Input, ...] = ALL) -> dict[str, float]:
    """Generate what is missing; the seconds each generation took (0 when cached)."""
    took: dict[str, float] = {}
    for item in items:
        started = time.monotonic()
        ensure(ffmpeg, item)
        took[item.name] = time.monotonic() - started
    return took
