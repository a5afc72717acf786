"""Run an FFmpeg-family tool as a careful subprocess: own process group, wall-clock timeout."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from vmp3.errors import ConversionTimeout
from vmp3.media.confine import UNCONFINED, Confinement

STDERR_TAIL_BYTES = 4096
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str

    @property
    def last_error_line(self) -> str:
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else f"exit status {self.returncode}"


GROUP_EXIT_WAIT_S = 2.0


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _wait_group_gone(pgid: int) -> None:
    """SIGKILL is delivered asynchronously: wait until no process of the group is left."""
    deadline = time.monotonic() + GROUP_EXIT_WAIT_S
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)


@contextmanager
def _deadline(proc: subprocess.Popen[bytes], seconds: float) -> Iterator[threading.Event]:
    """Kill the whole process group if it outlives ``seconds``; the event says it fired."""
    fired = threading.Event()

    def expire() -> None:
        fired.set()
        _kill_group(proc)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


def run_tool(
    argv: list[str | Path],
    *,
    timeout_s: float,
    stderr_path: Path,
    on_stdout_line: Callable[[str], None] | None = None,
    on_stdout_chunk: Callable[[bytes], None] | None = None,
    confinement: Confinement = UNCONFINED,
) -> Completed:
    """Run ``argv`` confined, streaming stdout to a callback (or collecting it).

    Raises ConversionTimeout past ``timeout_s``, and the error of any limit that bit.
    """
    command = confinement.wrap([str(part) for part in argv], writable=stderr_path.parent)
    with stderr_path.open("w+b") as stderr_file:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            start_new_session=True,  # its own group, so a kill takes every child with it
            preexec_fn=confinement.preexec(),  # only setrlimit runs between fork and exec
        )
        with _deadline(proc, timeout_s) as expired:
            stdout = _drain(proc, on_stdout_line, on_stdout_chunk)
            returncode, cpu_used_s = _wait(proc)
        _kill_group(proc)  # nothing the tool started may outlive it
        _wait_group_gone(proc.pid)
        if expired.is_set():
            raise ConversionTimeout(f"processing took longer than {timeout_s:g} s and was stopped")
        stderr_file.seek(max(0, stderr_path.stat().st_size - STDERR_TAIL_BYTES))
        stderr = stderr_file.read().decode("utf-8", errors="replace")
        confinement.check_exit(returncode, cpu_used_s, stderr)
        return Completed(returncode, stdout, stderr)


def _wait(proc: subprocess.Popen[bytes]) -> tuple[int, float]:
    """Reap the process; its exit code and the CPU seconds it (and its reaped children) used."""
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def _drain(proc: subprocess.Popen[bytes], on_line: Callable[[str], None] | None,
           on_chunk: Callable[[bytes], None] | None) -> str:
    assert proc.stdout is not None
    if on_chunk is not None:
        reader = cast(io.BufferedReader, proc.stdout)
        while chunk := reader.read1(CHUNK_BYTES):
            on_chunk(chunk)
        return ""
    if on_line is not None:
        for raw in proc.stdout:
            on_line(raw.decode("utf-8", errors="replace").rstrip("\n"))
        return ""
    return proc.stdout.read().decode("utf-8", errors="replace")
