from vmp3.media.progress import ProgressTracker


def feed(tracker: ProgressTracker, *seconds: float) -> None:
    for value in seconds:
        tracker.feed(f"out_time_us={int(value * 1_000_000)}")
        tracker.feed("progress=continue")


def test_progress_only_rises_and_stops_short_of_100() -> None:
    seen: list[int | None] = []
    tracker = ProgressTracker(10.0, seen.append)
    feed(tracker, 1, 5, 3, 5, 9.99, 12)
    assert seen == [10, 50, 99]


def test_missing_duration_reads_unknown_once() -> None:
    seen: list[int | None] = []
    tracker = ProgressTracker(None, seen.append)
    feed(tracker, 1, 2, 3)
    assert seen == [None]
    assert tracker.out_time_s == 3


def test_negative_or_garbage_times_are_ignored() -> None:
    seen: list[int | None] = []
    tracker = ProgressTracker(4.0, seen.append)
    tracker.feed("out_time_us=N/A")
    tracker.feed("out_time_us=-5000")
    feed(tracker, 1)
    assert seen == [25]
