"""Zip assets for the Python functions and the FFmpeg layer, built on this host (no Docker).

A function asset holds the third-party wheels (Linux x86_64, CPython 3.12), the shared
``vmp3`` package and the function's own folder. Wheels are installed once per synth into a
cache keyed by the requirements, then copied into each function's asset.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra.lambda_requirements import runtime_requirements

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
LAYER_DIR = ROOT / "layers" / "ffmpeg"
# Outside infra/ so linters and type checkers never walk the installed wheels.
CACHE = ROOT / "cdk.out" / ".vmp3-deps"
PLATFORM = "manylinux2014_x86_64"
# BundlingOptions requires an image, but it is never pulled: local bundling always runs
# (it returns True or raises), so synth needs no Docker.
BUILD_IMAGE = "public.ecr.aws/sam/build-python3.12"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "tests")


def _pip_target(requirements: list[str], target: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--platform", PLATFORM, "--implementation", "cp", "--python-version", "3.12",
         "--only-binary=:all:", "--upgrade", "--target", str(target), *requirements],
        check=True,
    )


def dependencies_dir() -> Path:
    """Wheels for the functions, installed once for a given requirement list."""
    requirements = runtime_requirements(ROOT / "pyproject.toml")
    key = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:16]
    target = CACHE / f"deps-{key}"
    if not (target / ".complete").exists():
        shutil.rmtree(target, ignore_errors=True)
        _pip_target(requirements, target)
        (target / ".complete").touch()
    return target


@jsii.implements(ILocalBundling)
class FunctionBundler:
    def __init__(self, function: str) -> None:
        self.function = function

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:  # noqa: ARG002
        out = Path(output_dir)
        shutil.copytree(dependencies_dir(), out, dirs_exist_ok=True, ignore=IGNORED)
        (out / ".complete").unlink(missing_ok=True)
        shutil.copytree(FUNCTIONS / "vmp3", out / "vmp3", dirs_exist_ok=True, ignore=IGNORED)
        source = FUNCTIONS / self.function
        if not (source / "handler.py").is_file():
            raise FileNotFoundError(f"{source}/handler.py is missing: cannot bundle it")
        shutil.copytree(source, out, dirs_exist_ok=True, ignore=IGNORED)
        return True


@jsii.implements(ILocalBundling)
class LayerBundler:
    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:  # noqa: ARG002
        subprocess.run([sys.executable, str(LAYER_DIR / "build.py"), "--out", output_dir],
                       check=True)
        return True


def function_code(function: str, bundle: bool) -> lambda_.Code:
    """The zip asset for ``functions/<function>``; without bundling, the sources as they are."""
    if not bundle:
        return lambda_.Code.from_asset(str(FUNCTIONS), exclude=["**/__pycache__", "*.egg-info"])
    return lambda_.Code.from_asset(
        str(FUNCTIONS),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            image=DockerImage.from_registry(BUILD_IMAGE),
            # jsii calls try_bundle(output_dir, options) positionally, unlike its stub.
            local=FunctionBundler(function),  # type: ignore[arg-type]
            # Part of the bundling cache key: without it, functions that share the source
            # folder would share the first function's bundle.
            environment={"VMP3_FUNCTION": function},
        ),
    )


def layer_code(bundle: bool) -> lambda_.Code:
    """The FFmpeg layer asset, built by layers/ffmpeg/build.py."""
    if not bundle:
        return lambda_.Code.from_asset(str(LAYER_DIR), exclude=["build"])
    return lambda_.Code.from_asset(
        str(LAYER_DIR),
        exclude=["build"],
        bundling=BundlingOptions(
            image=DockerImage.from_registry(BUILD_IMAGE),
            local=LayerBundler(),  # type: ignore[arg-type]
        ),
    )
