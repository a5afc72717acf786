"""The vmp3 command's failure modes: clear one-line errors, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import media


def vmp3(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vmp3", *args], capture_output=True, text=True,
                          timeout=60)


def test_unreachable_api_is_unavailable_not_a_traceback(tmp_path: Path) -> None:
    video = media.video_with_tone(tmp_path / "v.mp4", 1)
    done = vmp3("convert", str(video), "--api", "http://127.0.0.1:1", "--api-key", "k")
    assert done.returncode == 1
    assert "error: unavailable" in done.stderr
    assert "Traceback" not in done.stderr


def test_non_finite_trim_is_refused_by_the_parser(tmp_path: Path) -> None:
    for bad in ("nan", "inf", "-1"):
        done = vmp3("convert", "x.mp4", "--start", bad)
        assert done.returncode == 2
        assert "not a time in seconds" in done.stderr


def test_missing_file_is_named(tmp_path: Path) -> None:
    done = vmp3("convert", str(tmp_path / "absent.mp4"), "--api", "http://127.0.0.1:1",
                "--api-key", "k")
    assert done.returncode == 1
    assert "not_found" in done.stderr
