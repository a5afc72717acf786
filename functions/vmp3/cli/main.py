"""``vmp3``: run the local stack, run a converter, and convert videos through the API."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from vmp3.errors import Vmp3Error


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vmp3", description="Run the local stack, run a converter, and convert videos "
                                 "to MP3 through the API.")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_local(commands)
    worker = commands.add_parser("worker", help="run a converter that consumes the job queue")
    worker.add_argument("--max-jobs", type=int, default=None, help=argparse.SUPPRESS)
    _add_convert(commands.add_parser("convert", help="convert videos through the API"))
    demo = commands.add_parser("demo", help="start the local stack and convert a video "
                                            "(a generated sample if none is named)")
    demo.add_argument("video", nargs="?", type=Path)
    demo.add_argument("-o", "--output-dir", type=Path, default=Path("mp3"))
    return parser


def _add_local(commands: Any) -> None:
    local = commands.add_parser("local", help="the local emulation of the AWS deployment")
    actions = local.add_subparsers(dest="action", required=True)
    up = actions.add_parser("up", help="start LocalStack, the gateway and converters")
    up.add_argument("--converters", type=int, default=1)
    up.add_argument("--port", type=int, default=None,
                    help="gateway port (default 8080, or a free one if 8080 is taken)")
    actions.add_parser("down", help="stop what 'up' started")
    actions.add_parser("status", help="what is running")
    serve = actions.add_parser("serve-gateway",
                               help="run the local gateway in the foreground (what 'up' starts)")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--host", default="127.0.0.1")


def _add_convert(convert: argparse.ArgumentParser) -> None:
    convert.add_argument("videos", nargs="+", type=Path, metavar="VIDEO")
    convert.add_argument("--api", help="API URL (default: the local stack's)")
    convert.add_argument("--api-key", help="API key (default: the local stack's)")
    rate = convert.add_mutually_exclusive_group()
    rate.add_argument("--bitrate", type=int, help="CBR kb/s (32-320)")
    rate.add_argument("--quality", type=int, help="VBR quality 0 (best) to 9; default 2")
    convert.add_argument("--start", type=_seconds, help="trim: start second")
    convert.add_argument("--end", type=_seconds, help="trim: end second")
    convert.add_argument("--language", help="audio track language, e.g. en or eng")
    convert.add_argument("--title")
    convert.add_argument("--artist")
    convert.add_argument("-o", "--output-dir", type=Path, default=Path("."))


def _seconds(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time in seconds")
    return value


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(_dispatch(args))
    except Vmp3Error as exc:
        code = exc.as_dict()["code"]
        print(f"vmp3: error: {code}: {exc.message}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    from vmp3.cli import run

    if args.command == "local":
        return run.local(args.action, args)
    if args.command == "worker":
        return run.worker(args.max_jobs)
    if args.command == "demo":
        return run.demo(args.video, args.output_dir)
    return run.convert(args.videos, _options(args), args.api, args.api_key, args.output_dir)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    chosen = {"bitrate_kbps": args.bitrate, "quality": args.quality, "start_s": args.start,
              "end_s": args.end, "language": args.language, "title": args.title,
              "artist": args.artist}
    return {key: value for key, value in chosen.items() if value is not None}
