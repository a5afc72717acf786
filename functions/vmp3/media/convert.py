"""The conversion core: one local file in, one validated MP3 out, or a named error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vmp3.errors import BadRequest, ConversionFailed, NoAudio, TooLong, UndecodableAudio
from vmp3.media import validate
from vmp3.media.confine import UNCONFINED, Confinement
from vmp3.media.follow import FollowedDecode, FollowingDecode, sample_rates
from vmp3.media.options import ConversionOptions
from vmp3.media.plan import Plan, ffmpeg_args, make_plan
from vmp3.media.probe import ProbeResult, probe
from vmp3.media.process import run_tool
from vmp3.media.progress import ProgressCallback, ProgressTracker
from vmp3.media.tools import locate

# FFmpeg's words for a track it could not decode, as opposed to a failure of its own.
_DECODE_FAILURE = re.compile(
    r"(Decoding requested, but no decoder|Error while decoding|Invalid data found|"
    r"could not find codec parameters|Decoder .* not found)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Converter:
    """FFmpeg and ffprobe with the limits every conversion runs under."""

    ffmpeg: Path
    ffprobe: Path
    max_duration_s: float
    timeout_s: float
    confinement: Confinement = UNCONFINED

    @classmethod
    def from_paths(cls, ffmpeg: Path | None, ffprobe: Path | None, *, max_duration_s: float,
                   timeout_s: float, confinement: Confinement = UNCONFINED) -> Converter:
        return cls(locate("ffmpeg", ffmpeg), locate("ffprobe", ffprobe), max_duration_s,
                   timeout_s, confinement)

    def probe(self, source: Path, scratch_dir: Path) -> ProbeResult:
        return probe(source, self.ffprobe, scratch_dir, self.confinement)

    def plan(self, source: Path, options: ConversionOptions, scratch_dir: Path) -> Plan:
        """Probe and plan: everything that can refuse a file before any encoding starts."""
        return make_plan(self.probe(source, scratch_dir), options, self.max_duration_s)

    def convert(self, source: Path, options: ConversionOptions, job_dir: Path,
                on_progress: ProgressCallback | None = None) -> ConversionResult:
        plan = self.plan(source, options, job_dir)
        try:
            return self._convert_planned(plan, source, job_dir, on_progress)
        except ConversionFailed:
            if not plan.copy:
                raise
        # MP3 audio whose frames do not all decode cleanly: a copy would keep the damage,
        # so re-encode what the decoder recovers instead.
        return self._convert_planned(replace(plan, copy=False), source, job_dir, on_progress)

    def _convert_planned(self, plan: Plan, source: Path, job_dir: Path,
                         on_progress: ProgressCallback | None) -> ConversionResult:
        partial = job_dir / "output.partial.mp3"
        # The decode check runs while FFmpeg writes, on the core the encoder leaves idle.
        follower = FollowingDecode(partial, self.ffmpeg, job_dir, self.timeout_s,
                                            self.confinement)
        follower.start()
        try:
            encoded_s = self._run(plan, source, partial, job_dir, on_progress)
        except BaseException:
            follower.finish(written=False)
            raise
        followed = follower.finish(written=True)
        facts = self._validate(plan, partial, encoded_s, job_dir, followed)
        final = partial.rename(job_dir / "output.mp3")  # only a validated file gets this name
        return ConversionResult.build(final, plan, facts)

    def _run(self, plan: Plan, source: Path, output: Path, job_dir: Path,
             on_progress: ProgressCallback | None) -> float:
        tracker = ProgressTracker(plan.expected_duration_s, on_progress or (lambda _p: None))
        try:
            completed = run_tool([self.ffmpeg, *ffmpeg_args(plan, source, output)],
                                 timeout_s=self.timeout_s, stderr_path=job_dir / "ffmpeg.stderr",
                                 on_stdout_line=tracker.feed, confinement=self.confinement)
        except Exception:
            output.unlink(missing_ok=True)  # a stopped FFmpeg leaves a partial file
            raise
        if completed.returncode != 0:
            output.unlink(missing_ok=True)
            if _DECODE_FAILURE.search(completed.stderr):
                raise UndecodableAudio(f"the audio track cannot be decoded: "
                                       f"{completed.last_error_line}")
            raise ConversionFailed(f"FFmpeg failed: {completed.last_error_line}")
        if tracker.out_time_s <= 0 or not output.exists() or output.stat().st_size == 0:
            output.unlink(missing_ok=True)
            raise _nothing_decoded(plan)
        return tracker.out_time_s

    def _validate(self, plan: Plan, output: Path, encoded_s: float, job_dir: Path,
                  followed: FollowedDecode | None = None) -> validate.Mp3Facts:
        try:
            facts = validate.inspect_mp3(output, self.ffmpeg, self.ffprobe, job_dir,
                                         self.confinement, followed)
            if not plan.copy and not validate.has_xing_header(output):
                raise ConversionFailed("the MP3 has no Xing/Info header")
            if plan.copy and len(sample_rates(output)) > 1:  # copied as is, it would glitch
                raise ConversionFailed("the MP3 audio changes sample rate mid-stream")
            if plan.limited_by_max and facts.duration_s >= self.max_duration_s - 0.05:
                raise TooLong(f"the audio is longer than the {self.max_duration_s:.0f} s limit")
            if encoded_s > 0:
                validate.check_duration(facts.duration_s, encoded_s, "the decoded source audio")
        except Exception:
            output.unlink(missing_ok=True)  # a file that failed a check is never kept
            raise
        return facts


def _nothing_decoded(plan: Plan) -> Exception:
    if plan.start_s > 0 or not plan.limited_by_max:
        return BadRequest("the chosen start_s/end_s select no audio")
    return NoAudio("the audio track holds no samples")


@dataclass(frozen=True, slots=True)
class ConversionResult:
    output: Path
    duration_s: float
    bitrate_kbps: int
    size_bytes: int
    sample_rate: int
    channels: int
    copied: bool
    track: dict[str, Any]
    tags: dict[str, str]
    source: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, output: Path, plan: Plan, facts: validate.Mp3Facts) -> ConversionResult:
        return cls(output=output, duration_s=round(facts.duration_s, 3),
                   bitrate_kbps=facts.bitrate_kbps, size_bytes=facts.size_bytes,
                   sample_rate=facts.sample_rate, channels=facts.channels, copied=plan.copy,
                   track=plan.stream.describe(), tags=plan.tags, source=plan.source,
                   warnings=_warnings(plan, facts))

    def summary(self) -> dict[str, Any]:
        """What the job record keeps (the output path is the converter's business)."""
        return {"duration_s": self.duration_s, "bitrate_kbps": self.bitrate_kbps,
                "size_bytes": self.size_bytes, "sample_rate": self.sample_rate,
                "channels": self.channels, "stream_copy": self.copied, "track": self.track,
                "tags": self.tags, "source": self.source, "warnings": self.warnings}


def _warnings(plan: Plan, facts: validate.Mp3Facts) -> list[str]:
    expected = plan.expected_duration_s
    if expected is None or abs(facts.duration_s - expected) <= validate.DURATION_TOLERANCE_S:
        return []
    return [f"the source says its audio lasts {expected:.2f} s, but {facts.duration_s:.2f} s "
            f"could be decoded; the MP3 holds what was decodable"]
