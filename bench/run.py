"""``python -m bench``: build the inputs, run every contender side by side, write results.md.

Contenders, interleaved round by round so background load hits them alike:
bare ffmpeg (the binary vmp3 uses, same output settings, ``-vn``), the vmp3 core on a local
file, vmp3 end to end through a local stack of its own, moviepy and pydub.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import inputs, report
from bench.inputs import V1, V10, V10_MP3, V60, V180, Input
from bench.measure import TreeSampler, load_average
from vmp3.media.options import ConversionOptions
from vmp3.media.tools import locate

ROOT = Path(__file__).resolve().parent.parent
WORK = inputs.WORK
OUT = WORK / "out"
STATE = WORK / "state"
RESULTS_JSON = WORK / "results.json"
RESULTS_MD = Path(__file__).resolve().parent / "results.md"

# Isolated from any other local stack on this machine: own queue, bucket, Redis db, port.
STACK_ENV = {
    "VMP3_STATE_DIR": str(STATE),
    "VMP3_QUEUE_NAME": "vmp3.bench",
    "VMP3_BUCKET": "vmp3-bench",
    "VMP3_REDIS_URL": "redis://127.0.0.1:6379/7",
    "VMP3_LOCAL_RATE_PER_S": "1000",  # the status test needs 200/s; the default plan is 50/s
    "VMP3_LOCAL_BURST": "1000",
    "VMP3_WORK_DIR": str(WORK / "tmp"),
}
STATUS_RATE = 200.0
STATUS_SECONDS = 10.0


@dataclass
class Tools:
    ffmpeg: Path
    ffprobe: Path
    bin_dir: Path  # ffmpeg and ffprobe symlinks, put first on PATH for the peers

    @classmethod
    def find(cls) -> Tools:
        ffmpeg, ffprobe = locate("ffmpeg"), locate("ffprobe")
        bin_dir = WORK / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        for name, target in (("ffmpeg", ffmpeg), ("ffprobe", ffprobe)):
            link = bin_dir / name
            link.unlink(missing_ok=True)
            link.symlink_to(target)
        return cls(ffmpeg, ffprobe, bin_dir)

    def peer_env(self) -> dict[str, str]:
        """moviepy and pydub get the very binary vmp3 uses, by setting and by PATH."""
        return {**os.environ, "FFMPEG_BINARY": str(self.ffmpeg),
                "IMAGEIO_FFMPEG_EXE": str(self.ffmpeg),
                "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


@dataclass
class Target:
    """What vmp3 would pick for this source: sample rate, channels, VBR quality."""

    sample_rate: int
    channels: int
    quality: int

    @classmethod
    def of(cls, source: Path) -> Target:
        from vmp3.media.convert import Converter

        converter = Converter.from_paths(None, None, max_duration_s=4 * 3600, timeout_s=600)
        scratch = WORK / "tmp" / "plan"
        scratch.mkdir(parents=True, exist_ok=True)
        plan = converter.plan(source, ConversionOptions(), scratch)
        return cls(plan.sample_rate, plan.channels, plan.quality or 2)


def _wait4(proc: subprocess.Popen[bytes]) -> tuple[int, int]:
    """Exit status and exact peak RSS (bytes) of a child process we started."""
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss * 1024


def bare_ffmpeg(tools: Tools, source: Path, target: Target, copy: bool = False) -> dict[str, Any]:
    out = OUT / "bare" / f"{source.stem}{'-copy' if copy else ''}.mp3"
    out.parent.mkdir(parents=True, exist_ok=True)
    codec = (["-c:a", "copy"] if copy else
             ["-c:a", "libmp3lame", "-q:a", str(target.quality), "-ar", str(target.sample_rate),
              "-ac", str(target.channels)])
    argv = [str(tools.ffmpeg), "-nostdin", "-hide_banner", "-v", "error", "-y",
            "-i", str(source), "-vn", "-map", "0:a:0", *codec, str(out)]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    code, rss = _wait4(proc)
    seconds = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"bare ffmpeg failed on {source}")
    return {"seconds": seconds, "rss": {"ffmpeg": rss}, "output": str(out)}


def python_worker(kind: str, source: Path, args: dict[str, Any],
                  env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run bench.worker in a fresh interpreter: its own timing, its exact peak RSS, and its
    FFmpeg children's peaks by polling (a forked child's ru_maxrss starts at the parent's)."""
    argv = [sys.executable, "-m", "bench.worker", kind, str(source), str(OUT / kind),
            json.dumps(args)]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE)
    with TreeSampler({"worker": proc.pid}) as sampler:
        stdout, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed on {source} (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    result["rss"] = {"python": result.pop("self_maxrss")}
    result.pop("children_maxrss")
    for (_root, role), rss in sampler.peaks.items():
        if role != "worker":
            result["rss"][role] = rss
    return result


def probe_output(tools: Tools, path: Path) -> dict[str, float]:
    completed = subprocess.run(
        [str(tools.ffprobe), "-v", "error", "-of", "json", "-show_format", "-show_streams",
         str(path)], capture_output=True, check=True)
    data = json.loads(completed.stdout)
    stream = next(s for s in data["streams"] if s["codec_type"] == "audio")
    return {"duration_s": float(data["format"]["duration"]),
            "kbps": float(data["format"]["bit_rate"]) / 1000,
            "sample_rate": int(stream["sample_rate"]), "channels": int(stream["channels"])}


@dataclass
class Stack:
    """A local stack of our own (``vmp3 local up``) for the end-to-end runs."""

    tools: Tools
    api_url: str = ""
    api_key: str = ""
    pids: dict[str, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    started_localstack: bool = False

    def up(self, converters: int) -> None:
        from vmp3.local import stack

        self.env = {**stack.local_env(STATE), **STACK_ENV}
        Path(STACK_ENV["VMP3_WORK_DIR"]).mkdir(parents=True, exist_ok=True)
        port = stack.free_port()
        subprocess.run([sys.executable, "-m", "vmp3", "local", "up", "--converters",
                        str(converters), "--port", str(port)], cwd=ROOT, env=self.env,
                       check=True, stdout=subprocess.DEVNULL)
        state = json.loads((STATE / "state.json").read_text())
        self.api_url, self.api_key, self.pids = state["api_url"], state["api_key"], state["pids"]
        self.started_localstack = "localstack" in self.pids
        time.sleep(2.0)  # let the converters connect and start consuming

    def services(self) -> dict[str, int]:
        return {name: pid for name, pid in self.pids.items() if name != "localstack"}

    def down(self) -> None:
        """Stop the gateway and converters we started; a LocalStack we started stays up,
        since other sessions on this machine may have begun to use it."""
        from vmp3.local import stack

        for pid in self.services().values():
            stack.stop_pid(pid)
        state_path = STATE / "state.json"
        if state_path.exists():
            state = json.loads(state_path.read_text())
            state["pids"] = {k: v for k, v in state["pids"].items() if k == "localstack"}
            state_path.write_text(json.dumps(state, indent=2))

    def args(self, **extra: Any) -> dict[str, Any]:
        return {"api_url": self.api_url, "api_key": self.api_key, **extra}

    def e2e(self, source: Path, peaks: dict[str, int], **extra: Any) -> dict[str, Any]:
        with TreeSampler(self.services()) as sampler:
            result = python_worker("e2e", source, self.args(**extra), self.env)
        merge_peaks(peaks, sampler.peaks)
        return result


def merge_peaks(into: dict[str, int], peaks: dict[tuple[str, str], int]) -> None:
    for (root, role), rss in peaks.items():
        key = root if root == role else f"{root}/{role}"
        into[key] = max(into.get(key, 0), rss)


class Bench:
    def __init__(self, options: argparse.Namespace) -> None:
        self.opts = options
        self.tools = Tools.find()
        self.data: dict[str, Any] = {"sections": {}}
        self.stack: Stack | None = None

    def log(self, text: str) -> None:
        elapsed = time.monotonic() - self.t0
        print(f"[{elapsed:6.0f} s, load {load_average():.2f}] {text}", flush=True)

    def run(self) -> dict[str, Any]:
        self.t0 = time.monotonic()
        wanted = [V1, V10, V10_MP3] if self.opts.quick else [V1, V10, V60, V10_MP3, V180]
        self.data["generation_s"] = inputs.ensure_all(self.tools.ffmpeg, tuple(wanted))
        self.t0 = time.monotonic()
        self.data["machine"] = machine(self.tools)
        self.data["load_start"] = os.getloadavg()
        self.data["started_at"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        if not self.opts.no_e2e:
            self.stack = Stack(self.tools)
            self.log("starting the local stack (2 converters)")
            self.stack.up(converters=2)
        steps: list[tuple[str, Any]] = [
            (item.name, lambda item=item: self.compare(item))
            for item in wanted if item is not V10_MP3]
        steps.append(("copy", self.copy_vs_encode))
        if self.stack is not None:
            steps += [("parallel", self.parallel), ("status", self.status),
                      ("profile", self.profile)]
        try:
            for name, step in steps:
                try:
                    step()
                except Exception as exc:  # one broken section must not lose the others
                    self.log(f"section {name} failed: {exc!r}")
                    self.data.setdefault("errors", {})[name] = repr(exc)
        finally:
            if self.stack is not None:
                self.stack.down()
        self.data["load_end"] = os.getloadavg()
        self.data["total_s"] = time.monotonic() - self.t0
        return self.data

    def runs_for(self, item: Input) -> int:
        if self.opts.runs is not None:
            return self.opts.runs if item.seconds <= 600 else 1
        return 5 if item.seconds <= 600 else 1

    def compare(self, item: Input) -> None:
        """Every contender on one input, interleaved, several rounds."""
        target = Target.of(item.path)
        contenders = ["bare", "core", "moviepy", "pydub"]
        if self.stack is not None:
            contenders.insert(2, "e2e")
        if item is V180 and not self.opts.peers_3h:
            contenders = [c for c in contenders if c not in ("moviepy", "pydub")]
        results: dict[str, list[dict[str, Any]]] = {c: [] for c in contenders}
        stack_peaks: dict[str, int] = {}
        rounds = self.runs_for(item)
        for index in range(rounds):
            order = contenders[index % len(contenders):] + contenders[:index % len(contenders)]
            for name in order:
                self.log(f"{item.name} round {index + 1}/{rounds}: {name}")
                results[name].append(self.one(name, item, target, stack_peaks))
        outputs = {name: self.output_facts(runs[0]) for name, runs in results.items()}
        self.data["sections"][item.name] = {
            "label": item.label, "seconds": item.seconds, "rounds": rounds,
            "size_bytes": item.path.stat().st_size, "target": target.__dict__,
            "results": results, "stack_peaks": stack_peaks, "outputs": outputs}

    def one(self, name: str, item: Input, target: Target,
            stack_peaks: dict[str, int]) -> dict[str, Any]:
        peer_args = {"sample_rate": target.sample_rate, "channels": target.channels,
                     "ffmpeg": str(self.tools.ffmpeg)}
        if name == "bare":
            return bare_ffmpeg(self.tools, item.path, target)
        if name == "core":
            return python_worker("core", item.path, {"options": {}})
        if name == "e2e":
            assert self.stack is not None
            return self.stack.e2e(item.path, stack_peaks)
        return python_worker(name, item.path, peer_args, self.tools.peer_env())

    def output_facts(self, run: dict[str, Any]) -> dict[str, Any]:
        if "output" in run:
            return probe_output(self.tools, Path(run["output"]))
        return {"duration_s": run.get("duration_s"), "kbps": run.get("bitrate_kbps")}

    def copy_vs_encode(self) -> None:
        item = V10_MP3
        target = Target.of(item.path)
        names = ["bare_copy", "bare_encode", "core_copy", "core_encode"]
        results: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
        rounds = self.opts.runs or 5
        for index in range(rounds):
            for name in names[index % 4:] + names[:index % 4]:
                self.log(f"{item.name} round {index + 1}/{rounds}: {name}")
                if name == "bare_copy":
                    results[name].append(bare_ffmpeg(self.tools, item.path, target, copy=True))
                elif name == "bare_encode":
                    results[name].append(bare_ffmpeg(self.tools, item.path, target))
                else:
                    options = {} if name == "core_copy" else {"quality": target.quality}
                    results[name].append(python_worker("core", item.path, {"options": options}))
        self.data["sections"]["copy"] = {"label": item.label, "rounds": rounds,
                                         "results": results}

    def parallel(self) -> None:
        """4 jobs on the 2 converters at once, against the same 4 one after another."""
        assert self.stack is not None
        stack = self.stack
        source = V10.path
        peaks: dict[str, int] = {}
        sequential = []
        for index in range(4):
            self.log(f"4 jobs one after another: job {index + 1}")
            sequential.append(stack.e2e(source, peaks))
        seq_wall = sequential[-1]["ended"] - sequential[0]["began"]
        self.log("4 jobs at once on 2 converters")
        start_at = time.time() + 4.0  # every client is imported and waiting by then
        argv = [[sys.executable, "-m", "bench.worker", "e2e", str(source),
                 str(OUT / f"parallel-{i}"), json.dumps(stack.args(start_at=start_at))]
                for i in range(4)]
        with TreeSampler(stack.services()) as sampler:
            procs = [subprocess.Popen(a, cwd=ROOT, env=stack.env, stdout=subprocess.PIPE)
                     for a in argv]
            outs = [p.communicate()[0] for p in procs]
        merge_peaks(peaks, sampler.peaks)
        if any(p.returncode != 0 for p in procs):
            raise RuntimeError("a parallel job failed")
        parallel = [json.loads(o.decode().strip().splitlines()[-1]) for o in outs]
        par_wall = max(r["ended"] for r in parallel) - start_at
        self.data["sections"]["parallel"] = {
            "sequential_s": sum(r["seconds"] for r in sequential), "sequential_wall_s": seq_wall,
            "parallel_wall_s": par_wall, "sequential": sequential, "parallel": parallel,
            "stack_peaks": peaks}

    def status(self) -> None:
        assert self.stack is not None
        stack = self.stack
        job_id = self.any_job_id()
        self.log(f"status lookups: {STATUS_RATE:.0f}/s for {STATUS_SECONDS:.0f} s")
        with TreeSampler({"gateway": stack.pids["gateway"]}) as sampler:
            result = python_worker("status", V1.path, stack.args(
                job_id=job_id, rate=STATUS_RATE, seconds=STATUS_SECONDS), stack.env)
        peaks: dict[str, int] = {}
        merge_peaks(peaks, sampler.peaks)
        result["stack_peaks"] = peaks
        self.data["sections"]["status"] = result

    def any_job_id(self) -> str:
        import httpx

        assert self.stack is not None
        response = httpx.get(f"{self.stack.api_url}/jobs",
                             headers={"x-api-key": self.stack.api_key}, timeout=30)
        response.raise_for_status()
        return str(response.json()["jobs"][0]["id"])

    def profile(self) -> None:
        """The converter's steps one by one on the 10-minute video, against the same S3."""
        assert self.stack is not None
        runs = []
        for index in range(3):
            self.log(f"converter profile {index + 1}/3")
            runs.append(python_worker("converter_profile", V10.path, {}, self.stack.env))
        self.data["sections"]["profile"] = runs


def machine(tools: Tools) -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    os_name = platform.platform()
    release = Path("/etc/os-release")
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"') + f" (kernel {platform.release()})"

    def first_line(argv: list[str]) -> str:
        out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
        return out.splitlines()[0] if out else "unknown"

    def version(package: str) -> str:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as get

        try:
            return get(package)
        except PackageNotFoundError:
            return "absent"

    return {
        "cpu": cpu, "cores": str(os.cpu_count()),
        "ram": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 1024**3:.1f} GiB",
        "os": os_name,
        "ffmpeg": f"{first_line([str(tools.ffmpeg), '-version'])} ({tools.ffmpeg.name}, "
                  f"imageio-ffmpeg {version('imageio-ffmpeg')})",
        "ffprobe": first_line([str(tools.ffprobe), "-version"]),
        "python": platform.python_version(),
        "peers": f"moviepy {version('moviepy')}, pydub {version('pydub')}",
        "bwrap": shutil.which("bwrap") or "absent",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="1- and 10-minute inputs only, for a smoke test")
    parser.add_argument("--runs", type=int, default=None,
                        help="rounds on the short inputs (default 5; long inputs get 1)")
    parser.add_argument("--no-e2e", action="store_true", help="skip the local stack")
    parser.add_argument("--peers-3h", action="store_true",
                        help="also run moviepy and pydub on the 3-hour video")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite results.md from the last run's bench/work/results.json")
    parser.add_argument("--output", type=Path, default=RESULTS_MD)
    opts = parser.parse_args(argv)
    if opts.report_only:
        data = json.loads(RESULTS_JSON.read_text())
    else:
        data = Bench(opts).run()
        RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
        RESULTS_JSON.write_text(json.dumps(data, indent=1))
    opts.output.write_text(report.render(data))
    print(f"wrote {opts.output} ({data['total_s'] / 60:.1f} min of benchmarks)")
    return 0
