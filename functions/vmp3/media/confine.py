"""What an FFmpeg process may use: CPU seconds, address space, output size, and no network.

Resource limits are set in the child before exec. The network is cut with bubblewrap
(Debian's ``bubblewrap``) where it is installed and works; where not, FFmpeg's protocol
allowlist (``file`` only) is the remaining guard (docs/adr/0003-ffmpeg-confinement.md).
"""

from __future__ import annotations

import ctypes
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from vmp3.errors import ConversionFailed, ConversionTimeout, TooLarge, Vmp3Error

# bwrap reports a child killed by signal N as exit status 128 + N.
_SIGNALLED_OFFSET = 128
# How a process says it hit its address-space limit (the loader, or FFmpeg itself).
_OUT_OF_MEMORY = ("Cannot allocate memory", "failed to map segment", "out of memory")
_CRASH_SIGNALS = frozenset({signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGILL})


@dataclass(frozen=True, slots=True)
class Confinement:
    cpu_s: int | None = None
    memory_bytes: int | None = None
    file_bytes: int | None = None
    sandbox: Path | None = None  # the bwrap binary, when the network is to be cut

    def preexec(self) -> Callable[[], None]:
        limits = [(resource.RLIMIT_CPU, self.cpu_s), (resource.RLIMIT_AS, self.memory_bytes),
                  (resource.RLIMIT_FSIZE, self.file_bytes)]

        def apply() -> None:
            _die_with_parent()
            for which, value in limits:
                if value is not None:
                    # CPU: SIGXCPU at the soft limit, SIGKILL a little later if ignored.
                    hard = value + 5 if which == resource.RLIMIT_CPU else value
                    resource.setrlimit(which, (value, hard))
        return apply

    def wrap(self, argv: list[str], writable: Path) -> list[str]:
        """``argv`` inside a sandbox with no network and only ``writable`` writable."""
        if self.sandbox is None:
            return argv
        return [str(self.sandbox), "--unshare-net", "--die-with-parent", "--ro-bind", "/", "/",
                "--dev", "/dev", "--proc", "/proc", "--bind", str(writable), str(writable),
                "--", *argv]

    def check_exit(self, returncode: int, cpu_used_s: float, stderr: str) -> None:
        """Raise the error of the limit that stopped the process, if one did.

        FFmpeg catches SIGXCPU and exits 255, so the CPU limit is read from the CPU
        time the process used, not from how it died.
        """
        if returncode == 0:
            return
        sig = -returncode if returncode < 0 else returncode - _SIGNALLED_OFFSET
        if self.cpu_s is not None and (sig == signal.SIGXCPU or cpu_used_s >= self.cpu_s - 0.05):
            raise ConversionTimeout(f"processing used more than its {self.cpu_s} s of CPU time")
        if sig == signal.SIGXFSZ or (self.file_bytes is not None and "File too large" in stderr):
            raise TooLarge(f"the output would exceed the {self.file_bytes} byte limit")
        if self.memory_bytes is not None and any(sign in stderr for sign in _OUT_OF_MEMORY):
            raise TooLarge(f"processing needed more than its {self.memory_bytes} bytes of memory")
        if sig in _CRASH_SIGNALS:
            # Static builds crash rather than report when an allocation is refused.
            raise ConversionFailed(f"FFmpeg crashed ({signal.Signals(sig).name}); the file may be "
                                   f"malformed or need more than the {self.memory_bytes} byte "
                                   "memory limit")


_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _die_with_parent() -> None:
    """Have the kernel SIGKILL the tool if its converter dies (even by SIGKILL).

    The tool runs in its own session so a timeout can kill its whole group; that also
    puts it out of reach of a signal sent to the converter's group.
    """
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


UNCONFINED = Confinement()


@lru_cache(maxsize=1)
def working_sandbox() -> Path | None:
    """bwrap, if installed and able to cut the network on this machine."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None
    probe = [bwrap, "--unshare-net", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev",
             "--proc", "/proc", "--", "true"]
    try:
        ok = subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return Path(bwrap) if ok else None


def confinement_for(*, timeout_s: float, memory_bytes: int, max_output_bytes: int,
                    sandbox: str) -> Confinement:
    """The limits every FFmpeg run of a converter gets, from its settings."""
    if sandbox not in ("auto", "bwrap", "none"):
        raise Vmp3Error(f"unknown sandbox mode {sandbox!r}")
    tool = None if sandbox == "none" else working_sandbox()
    if sandbox == "bwrap" and tool is None:
        raise Vmp3Error("VMP3_SANDBOX=bwrap but bubblewrap is missing or cannot run here")
    # FFmpeg may use both cores, so CPU time may run at twice the wall clock.
    return Confinement(cpu_s=int(timeout_s * 2) + 1, memory_bytes=memory_bytes,
                       file_bytes=max_output_bytes, sandbox=tool)
