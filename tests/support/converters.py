"""Converter processes a test can kill, and a supervisor that starts them again."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from dataclasses import dataclass, field

from tests.support.stack import start_converter
from vmp3.services.context import ServiceContext


@dataclass
class Supervisor:
    """Keeps ``size`` converter processes running, as ECS or systemd would."""

    ctx: ServiceContext
    size: int = 2
    env: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    restarts: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Supervisor:
        self.procs = [start_converter(self.ctx, self.env) for _ in range(self.size)]
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            for index, proc in enumerate(self.procs):
                if proc.poll() is not None:
                    self.procs[index] = start_converter(self.ctx, self.env)
                    self.restarts += 1

    def kill(self, pid: int) -> bool:
        """SIGKILL converter ``pid`` (and its FFmpeg) if it is one of ours."""
        for proc in self.procs:
            if proc.pid == pid and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                return True
        return False

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=60)


def holder_pid(ctx: ServiceContext, job_id: str) -> int | None:
    """The pid of the converter holding ``job_id``'s lease (host:pid:nonce)."""
    holder = ctx.jobs.lease_holder(job_id)
    return None if holder is None else int(holder.split(":")[1])
