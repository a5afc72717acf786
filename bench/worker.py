"""One measured conversion in a fresh process: ``python -m bench.worker KIND INPUT OUT [JSON]``.

Prints one JSON line: the seconds the conversion itself took (imports and interpreter start
excluded), this process's peak RSS and the peak RSS of the largest child it waited for.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

KB = 1024


def _core(source: Path, out_dir: Path, args: dict[str, Any]) -> dict[str, Any]:
    from vmp3.media.options import ConversionOptions
    from vmp3.services.context import ServiceContext
    from vmp3.settings import Settings

    converter = ServiceContext(Settings()).converter  # built the way the converter builds it
    options = ConversionOptions.model_validate(args.get("options", {}))
    phases: dict[str, float] = {}
    _time_core_phases(converter, phases)  # timers around each step: microseconds of cost
    with tempfile.TemporaryDirectory(dir=out_dir) as job:
        started = time.perf_counter()
        result = converter.convert(source, options, Path(job))
        seconds = time.perf_counter() - started
        size = result.output.stat().st_size
    return {"seconds": seconds, "copied": result.copied, "size": size, "phases": phases,
            "duration_s": result.duration_s, "bitrate_kbps": result.bitrate_kbps,
            "sandbox": str(getattr(getattr(converter, "confinement", None), "sandbox", None))}


def _timed(store: dict[str, float], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*a: Any, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            store[name] = store.get(name, 0.0) + time.perf_counter() - started
    return wrapper


def _wrap(owner: Any, name: str, phases: dict[str, float], label: str) -> None:
    """Replace ``owner.name`` with a timed version (module functions and class methods)."""
    if hasattr(owner, name):
        setattr(owner, name, _timed(phases, label, getattr(owner, name)))


def _time_core_phases(converter: Any, phases: dict[str, float]) -> None:
    """Wrap the core's steps with timers: probe, FFmpeg, and the validation that follows.

    The validation steps are looked up by name, so the same bench times the full decode
    after FFmpeg (``validate_decode``) or the decode made while FFmpeg writes (the wait
    for its tail, ``follow_tail_wait``, and the check it stands for the file,
    ``follow_proof``), whichever the core has.
    """
    from vmp3.media import validate

    _wrap(type(converter), "probe", phases, "probe")
    _wrap(type(converter), "_run", phases, "ffmpeg")
    _wrap(validate, "_probe_stream", phases, "validate_probe")
    _wrap(validate, "_decoded_seconds", phases, "validate_decode")
    _wrap(getattr(validate, "FollowingDecode", None), "finish", phases, "follow_tail_wait")
    _wrap(getattr(validate, "FollowedDecode", None), "proves", phases, "follow_proof")


def _moviepy(source: Path, out_dir: Path, args: dict[str, Any]) -> dict[str, Any]:
    from moviepy import VideoFileClip

    target = out_dir / "moviepy.mp3"
    started = time.perf_counter()
    clip = VideoFileClip(str(source), audio_fps=args["sample_rate"])
    assert clip.audio is not None
    clip.audio.write_audiofile(str(target), fps=args["sample_rate"], codec="libmp3lame",
                               ffmpeg_params=["-q:a", "2"],
                               logger=None)
    clip.close()
    return {"seconds": time.perf_counter() - started, "output": str(target)}


def _pydub(source: Path, out_dir: Path, args: dict[str, Any]) -> dict[str, Any]:
    from pydub import AudioSegment

    AudioSegment.converter = args["ffmpeg"]
    target = out_dir / "pydub.mp3"
    started = time.perf_counter()
    audio = AudioSegment.from_file(str(source))
    audio.export(str(target), format="mp3", codec="libmp3lame",
                 parameters=["-q:a", "2", "-ar", str(args["sample_rate"]),
                             "-ac", str(args["channels"])])
    return {"seconds": time.perf_counter() - started, "output": str(target)}


def _e2e(source: Path, out_dir: Path, args: dict[str, Any]) -> dict[str, Any]:
    """The real client (vmp3.client.Client.convert), with timers around its steps."""
    from vmp3 import client as client_mod
    from vmp3.jobs import Job

    phases: dict[str, float] = {}
    seen: dict[str, Any] = {}
    _wrap(client_mod, "_upload", phases, "upload")
    _wrap(client_mod, "_download", phases, "download")
    original_wait = client_mod.Client.wait

    def wait(self: Any, http: Any, job_id: str, on_progress: Any) -> Job:
        seen["wait_started"] = time.time()
        job = original_wait(self, http, job_id, on_progress)
        seen["wait_ended"] = time.time()
        seen["done_at"] = job.updated_at
        seen["converter_s"] = (job.result or {}).get("seconds")
        return job

    setattr(client_mod.Client, "wait", wait)  # noqa: B010 (a method, patched for timing)
    api = client_mod.Client(args["api_url"], args["api_key"], timeout_s=600)
    started = time.perf_counter()
    output = api.convert(source, args.get("options", {}), out_dir)
    seconds = time.perf_counter() - started
    wait_s = seen["wait_ended"] - seen["wait_started"]
    phases["wait"] = wait_s
    phases["create_start"] = seconds - wait_s - phases["upload"] - phases["download"]
    phases["converter"] = seen["converter_s"] or 0.0
    phases["poll_slack"] = max(0.0, seen["wait_ended"] - seen["done_at"])
    phases["queue_and_records"] = wait_s - phases["converter"] - phases["poll_slack"]
    return {"seconds": seconds, "output": str(output), "phases": phases}


def _converter_profile(source: Path, out_dir: Path, args: dict[str, Any]) -> dict[str, Any]:
    """The converter's own steps (vmp3.services.conversion) one by one, against the same S3."""
    import uuid

    from vmp3.media.options import ConversionOptions
    from vmp3.services.context import ServiceContext
    from vmp3.settings import Settings

    ctx = ServiceContext(Settings())
    converter = ctx.converter
    phases: dict[str, float] = {}
    _time_core_phases(converter, phases)
    prefix = f"bench-profile/{uuid.uuid4().hex}"
    ctx.objects.upload(source, f"{prefix}/source", {})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=out_dir) as job:
        local = Path(job) / "source"
        _timed(phases, "s3_download", ctx.objects.download)(f"{prefix}/source", local)
        result = converter.convert(local, ConversionOptions.model_validate(args.get("options", {})),
                                   Path(job))
        _timed(phases, "s3_upload", ctx.objects.upload)(result.output, f"{prefix}/out.mp3", {})
    seconds = time.perf_counter() - started
    ctx.objects.delete(f"{prefix}/source")
    ctx.objects.delete(f"{prefix}/out.mp3")
    return {"seconds": seconds, "phases": phases}


def _status(_source: Path, _out_dir: Path, args: dict[str, Any]) -> dict[str, Any]:
    """Open-loop GET /jobs/{id} at a fixed rate; latency counted from each request's slot."""
    import asyncio
    from collections import Counter

    import httpx

    rate, seconds = float(args["rate"]), float(args["seconds"])
    total = int(rate * seconds)
    from_slot: list[float] = []
    from_send: list[float] = []
    codes: Counter[int] = Counter()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(base_url=args["api_url"], limits=limits, timeout=30,
                                     headers={"x-api-key": args["api_key"]}) as http:
            path = f"/jobs/{args['job_id']}"
            for _ in range(50):  # warm the connections and the gateway
                await http.get(path)
            start = loop.time() + 0.2

            async def one(index: int) -> None:
                slot = start + index / rate
                await asyncio.sleep(max(0.0, slot - loop.time()))
                sent = loop.time()
                response = await http.get(path)
                done = loop.time()
                codes[response.status_code] += 1
                from_slot.append(done - slot)
                from_send.append(done - sent)

            await asyncio.gather(*(one(i) for i in range(total)))

    started = time.perf_counter()
    asyncio.run(run())
    return {"seconds": time.perf_counter() - started, "from_slot": from_slot,
            "from_send": from_send, "codes": {str(k): v for k, v in codes.items()}}


KINDS: dict[str, Callable[[Path, Path, dict[str, Any]], dict[str, Any]]] = {
    "core": _core, "moviepy": _moviepy, "pydub": _pydub, "e2e": _e2e,
    "converter_profile": _converter_profile, "status": _status}


def main() -> int:
    kind, source, out_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    args: dict[str, Any] = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    out_dir.mkdir(parents=True, exist_ok=True)
    if "start_at" in args:  # parallel runs start together
        time.sleep(max(0.0, float(args["start_at"]) - time.time()))
    began = time.time()
    report = KINDS[kind](source, out_dir, args)
    report["began"], report["ended"] = began, time.time()
    report["self_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KB
    report["children_maxrss"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * KB
    report["pid"] = os.getpid()
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
