"""What each ``vmp3`` command does (imported lazily so ``vmp3 --help`` stays fast)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from vmp3.client import Client, ClientError, progress_bar
from vmp3.errors import ConfigError, Unavailable
from vmp3.local import commands, stack
from vmp3.media.tools import locate
from vmp3.settings import get_settings


def local(action: str, args: argparse.Namespace) -> int:
    if action == "up":
        state = commands.up(args.converters, args.port)
        print(f"API URL: {state.api_url}")
        print(f"API key: {state.api_key}")
        return 0
    if action == "down":
        commands.down()
        print("local stack stopped")
        return 0
    if action == "status":
        for name, state_text in commands.status().items():
            print(f"{name:16} {state_text}")
        return 0
    return serve_gateway(args.host, args.port)


def serve_gateway(host: str, port: int) -> int:
    import uvicorn

    from vmp3.local.gateway import LocalGateway, LocalGatewaySettings, function_handlers
    from vmp3.services.context import ServiceContext

    local = LocalGatewaySettings()
    state = stack.StackState.load(stack.state_dir())
    api_key = local.api_key or state.api_key
    if not api_key:
        raise ConfigError("no API key: run 'vmp3 local up' or set VMP3_LOCAL_API_KEY")
    handlers = function_handlers(ServiceContext(get_settings()))
    key_id = local.key_id if local.api_key else state.key_id
    app = LocalGateway({api_key: key_id}, handlers, local.plan).app()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    return 0


def worker(max_jobs: int | None) -> int:
    from vmp3.services.consumer import Consumer
    from vmp3.services.context import ServiceContext

    settings = get_settings()
    consumer = Consumer(ServiceContext(settings), grace_s=settings.shutdown_grace_s)
    consumer.install_signal_handlers()
    consumer.run(max_jobs)
    return 0


def convert(videos: list[Path], options: dict[str, Any], api: str | None, api_key: str | None,
            out_dir: Path) -> int:
    client = _client(api, api_key)
    failures = 0
    for video in videos:
        if not video.is_file():
            print(f"vmp3: error: not_found: {video} is not a file", file=sys.stderr)
            failures += 1
            continue
        try:
            print(client.convert(video, options, out_dir, on_progress=progress_bar).resolve())
        except ClientError as exc:
            print(f"vmp3: error: {exc.server_code}: {video}: {exc.message}", file=sys.stderr)
            failures += 1
    return 1 if failures else 0


def _client(api: str | None, api_key: str | None) -> Client:
    if api and api_key:
        return Client(api, api_key)
    state = stack.StackState.load(stack.state_dir())
    if not state.api_url or not state.pids.get("gateway"):
        raise Unavailable("no local stack: run 'vmp3 local up' or pass --api and --api-key")
    return Client(api or state.api_url, api_key or state.api_key)


def demo(video: Path | None, out_dir: Path) -> int:
    state = commands.up()
    print(f"local stack up (it keeps running; 'vmp3 local down' stops it): API {state.api_url}"
          f", key {state.api_key}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="vmp3-demo-") as scratch:
        source = video or make_sample(Path(scratch) / "vmp3-sample.mp4")
        return convert([source], {}, state.api_url, state.api_key, out_dir)


def make_sample(path: Path, seconds: int = 5) -> Path:
    """A short test video (colour bars, a 440 Hz tone, a title tag) made with FFmpeg."""
    ffmpeg = locate("ffmpeg", get_settings().ffmpeg_path)
    subprocess.run(
        [str(ffmpeg), "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc=size=320x240:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}",
         "-c:v", "mpeg4", "-c:a", "aac", "-metadata", "title=vmp3 sample",
         "-metadata", "artist=vmp3", "-shortest", str(path)],
        check=True,
    )
    print(f"no video named: converting a {seconds} s sample video made with FFmpeg",
          file=sys.stderr)
    return path

