"""Turn FFmpeg's ``-progress`` lines into a percentage that only rises."""

from __future__ import annotations

from collections.abc import Callable, Iterable

ProgressCallback = Callable[[int | None], None]
_OUT_TIME_KEYS = ("out_time_us=", "out_time_ms=")  # both are microseconds in FFmpeg


def out_time_s(line: str) -> float | None:
    for key in _OUT_TIME_KEYS:
        if line.startswith(key):
            value = line[len(key):].strip()
            # FFmpeg prints N/A, or a negative time before the first packet: neither is progress.
            return int(value) / 1_000_000 if value.isdigit() else None
    return None


def last_out_time_s(lines: Iterable[str]) -> float | None:
    latest = None
    for line in lines:
        seconds = out_time_s(line)
        if seconds is not None:
            latest = seconds
    return latest


class ProgressTracker:
    """Feeds 0-99 to ``report`` as FFmpeg advances; 100 is for the caller once the MP3 counts.

    With no believable duration the percentage is unknown, reported once as None.
    """

    def __init__(self, expected_s: float | None, report: ProgressCallback) -> None:
        self._expected_s = expected_s if expected_s and expected_s > 0 else None
        self._report = report
        self._last: int | None = -1
        self.out_time_s = 0.0

    def feed(self, line: str) -> None:
        seconds = out_time_s(line)
        if seconds is None:
            return
        self.out_time_s = max(self.out_time_s, seconds)
        if self._expected_s is None:
            self._emit(None)
            return
        self._emit(min(99, int(self.out_time_s / self._expected_s * 100)))

    def _emit(self, percent: int | None) -> None:
        if percent is None:
            if self._last == -1:
                self._last = None
                self._report(None)
            return
        if self._last is not None and percent > self._last:
            self._last = percent
            self._report(percent)
