"""Timing and memory: medians of several runs, peak RSS per process of a process tree."""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import dataclass, field

MB = 1024 * 1024
SAMPLE_INTERVAL_S = 0.025


@dataclass(frozen=True, slots=True)
class Stats:
    runs: int
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        return cls(len(values), statistics.median(values), min(values), max(values))

    def fmt(self, unit: str = "s") -> str:
        if self.runs == 1:
            return f"{self.median:.2f} {unit} (1 run)"
        return f"{self.median:.2f} {unit} ({self.low:.2f}–{self.high:.2f}, n={self.runs})"


PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss(pid: int) -> int:
    """Resident set size from /proc (cheap enough to poll every few milliseconds)."""
    with open(f"/proc/{pid}/statm", "rb") as handle:
        return int(handle.read().split()[1]) * PAGE


def _children(pid: int) -> list[int]:
    """Direct children of every thread of ``pid`` (a thread pool spawns tools too)."""
    found: list[int] = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as handle:
                found += [int(part) for part in handle.read().split()]
        except OSError:
            continue
    return found


def _role(pid: int, parent_role: str) -> str:
    """A descendant's role: FFmpeg, ffprobe and bwrap by name, anything else its parent's."""
    try:
        with open(f"/proc/{pid}/comm", "rb") as handle:
            name = handle.read().decode(errors="replace").strip()
    except OSError:
        return parent_role
    for tool in ("ffmpeg", "ffprobe", "bwrap"):
        if tool in name:
            return tool
    return parent_role


@dataclass
class TreeSampler:
    """Polls the RSS of named root processes and all their descendants in a thread.

    ``peaks`` maps (root role, process role) to the largest RSS seen in bytes, for example
    ("converter-1", "ffmpeg"). It reads /proc directly: psutil's tree walk scans every
    process on the machine and would itself load a 2-core box. Polling misses processes
    that live less than one interval.
    """

    roots: dict[str, int]
    interval_s: float = SAMPLE_INTERVAL_S
    peaks: dict[tuple[str, str], int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _record(self, key: tuple[str, str], rss: int) -> None:
        if rss > self.peaks.get(key, 0):
            self.peaks[key] = rss

    def sample(self) -> None:
        for root_role, root in self.roots.items():
            pending = [(root, root_role)]
            while pending:
                pid, role = pending.pop()
                try:
                    self._record((root_role, role), _rss(pid))
                    pending += [(child, _role(child, role)) for child in _children(pid)]
                except (OSError, ValueError, IndexError):
                    continue

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def __enter__(self) -> TreeSampler:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def load_average() -> float:
    return os.getloadavg()[0]


def now() -> float:
    return time.perf_counter()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
