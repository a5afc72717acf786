"""Decide how one source becomes one MP3: which track, copy or encode, and FFmpeg's arguments."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vmp3.errors import BadRequest, TooLong
from vmp3.media import formats
from vmp3.media.options import (
    DEFAULT_VBR_QUALITY,
    ConversionOptions,
    max_bitrate_kbps,
    nearest_mp3_rate,
)
from vmp3.media.probe import AudioStream, ProbeResult, require_audio, require_decodable

# ISO 639-1 codes for the languages most often tagged, so "en" finds "eng".
_ISO639_1_TO_2 = {
    "en": "eng", "fr": "fra", "de": "deu", "es": "spa", "it": "ita", "pt": "por", "ru": "rus",
    "ja": "jpn", "zh": "zho", "ko": "kor", "ar": "ara", "hi": "hin", "nl": "nld", "sv": "swe",
    "pl": "pol", "tr": "tur", "uk": "ukr", "cs": "ces", "el": "ell", "he": "heb", "fi": "fin",
}
_ISO639_2_ALIASES = {"fre": "fra", "ger": "deu", "chi": "zho", "dut": "nld", "cze": "ces",
                     "gre": "ell"}


@dataclass(frozen=True, slots=True)
class Plan:
    stream: AudioStream
    copy: bool
    sample_rate: int
    channels: int
    quality: int | None
    bitrate_kbps: int | None
    start_s: float
    expected_duration_s: float | None  # None when the source does not say believably
    max_output_s: float
    limited_by_max: bool  # True when only the duration limit bounds the output
    tags: dict[str, str]
    source: dict[str, object]  # what the probe found, for the job's metadata


def _language_code(code: str | None) -> str | None:
    if not code:
        return None
    lowered = code.lower()
    lowered = _ISO639_1_TO_2.get(lowered, lowered)
    return _ISO639_2_ALIASES.get(lowered, lowered)


def choose_track(audio: tuple[AudioStream, ...], language: str | None) -> AudioStream:
    """The requested language, else the track flagged default, else the first."""
    wanted = _language_code(language)
    if wanted is not None:
        for stream in audio:
            if _language_code(stream.language) == wanted:
                return stream
    flagged = [stream for stream in audio if stream.is_default]
    return flagged[0] if flagged else audio[0]


def make_plan(probed: ProbeResult, options: ConversionOptions, max_duration_s: float) -> Plan:
    """Validate the source against the options and limits; raise the MediaError if unusable."""
    require_audio(probed)
    stream = choose_track(probed.audio, options.language)
    require_decodable(stream)
    start_s = options.start_s or 0.0
    expected = _expected_duration(probed.plausible_duration(stream), start_s, options.end_s)
    if expected is not None and expected > max_duration_s:
        raise TooLong(f"the audio to convert lasts {expected:.0f} s; "
                      f"the limit is {max_duration_s:.0f} s")
    sample_rate = options.sample_rate or nearest_mp3_rate(stream.sample_rate)
    _check_bitrate(options.bitrate_kbps, sample_rate)
    requested_s = None if options.end_s is None else options.end_s - start_s
    return Plan(
        stream=stream,
        copy=stream.codec == "mp3" and not options.forces_reencode,
        sample_rate=sample_rate,
        channels=options.channels or min(stream.channels, 2),
        quality=_quality(options),
        bitrate_kbps=options.bitrate_kbps,
        start_s=start_s,
        expected_duration_s=expected,
        max_output_s=min(max_duration_s, requested_s or max_duration_s),
        limited_by_max=requested_s is None or requested_s > max_duration_s,
        tags=_tags(probed, stream, options),
        source=probed.describe(),
    )


def _check_bitrate(bitrate_kbps: int | None, sample_rate: int) -> None:
    if bitrate_kbps is not None and bitrate_kbps > max_bitrate_kbps(sample_rate):
        raise BadRequest(f"{bitrate_kbps} kb/s is more than an MP3 at {sample_rate} Hz can "
                         f"carry (at most {max_bitrate_kbps(sample_rate)} kb/s)")


def _quality(options: ConversionOptions) -> int | None:
    if options.bitrate_kbps is not None:
        return None
    return DEFAULT_VBR_QUALITY if options.quality is None else options.quality


def _expected_duration(source_s: float | None, start_s: float, end_s: float | None) -> float | None:
    if source_s is not None and start_s >= source_s:
        raise BadRequest(f"start_s {start_s:g} is past the end of the audio ({source_s:.2f} s)")
    stop = end_s if source_s is None or end_s is None else min(end_s, source_s)
    stop = source_s if stop is None else stop
    return None if stop is None else stop - start_s


def _tags(probed: ProbeResult, stream: AudioStream, options: ConversionOptions) -> dict[str, str]:
    tags = {**stream.tags, **probed.tags}  # container tags describe the work; they win
    overrides = {"title": options.title, "artist": options.artist}
    tags.update({key: value for key, value in overrides.items() if value})
    return tags


def ffmpeg_args(plan: Plan, source: Path, output: Path) -> list[str]:
    """FFmpeg's argument list: local input only, one audio track, our tags only."""
    args = ["-nostdin", "-hide_banner", "-v", "error", "-y", *formats.hardening_input_args()]
    if plan.start_s:
        args += ["-ss", f"{plan.start_s:.3f}"]
    args += ["-i", f"file:{source}", "-map", f"0:{plan.stream.index}",
             "-map_metadata", "-1", "-map_chapters", "-1", "-t", f"{plan.max_output_s:.3f}"]
    args += _codec_args(plan)
    for key, value in sorted(plan.tags.items()):
        args += ["-metadata", f"{key}={value}"]
    # bitexact keeps FFmpeg's own "encoder" tag out of the file.
    args += ["-id3v2_version", "3", "-write_id3v1", "0", "-fflags", "+bitexact",
             "-progress", "pipe:1", "-f", "mp3", f"file:{output}"]
    return args


def _codec_args(plan: Plan) -> list[str]:
    if plan.copy:
        return ["-c:a", "copy"]
    if plan.bitrate_kbps is None:
        rate = ["-q:a", str(plan.quality)]
    else:
        rate = ["-b:a", f"{plan.bitrate_kbps}k"]
    return [*_downmix_args(plan), "-c:a", "libmp3lame", *rate, "-ar", str(plan.sample_rate),
            "-ac", str(plan.channels)]


def _downmix_args(plan: Plan) -> list[str]:
    """An explicit mix for wide sources with no channel layout, which FFmpeg cannot downmix.

    Channels alternate left and right (mono: all together), each side normalised.
    """
    count = plan.stream.channels
    if plan.stream.channel_layout is not None or count <= plan.channels:
        return []
    if plan.channels == 1:
        return ["-af", "pan=mono|c0<" + "+".join(f"c{i}" for i in range(count))]
    left = "+".join(f"c{i}" for i in range(0, count, 2))
    right = "+".join(f"c{i}" for i in range(1, count, 2))
    return ["-af", f"pan=stereo|c0<{left}|c1<{right}"]
