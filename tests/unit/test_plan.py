from pathlib import Path

import pytest

from vmp3.errors import BadRequest, NoAudio, TooLong, UndecodableAudio
from vmp3.media.options import ConversionOptions
from vmp3.media.plan import choose_track, ffmpeg_args, make_plan
from vmp3.media.probe import AudioStream, ProbeResult


def stream(index: int, *, codec: str | None = "aac", language: str | None = None,
           default: bool = False, rate: int = 44100, channels: int = 2,
           duration: float | None = 10.0, layout: str | None = "stereo") -> AudioStream:
    return AudioStream(index=index, codec=codec, sample_rate=rate, channels=channels,
                       channel_layout=layout, language=language, is_default=default,
                       duration_s=duration)


def probed(*audio: AudioStream, size: int = 1_000_000, duration: float | None = 10.0,
           tags: dict[str, str] | None = None) -> ProbeResult:
    return ProbeResult(format_name="matroska,webm", size_bytes=size, claimed_duration_s=duration,
                       audio=audio, video_streams=1, attached_pictures=0, tags=tags or {})


def test_track_rule_language_then_default_then_first() -> None:
    tracks = (stream(1, language="fre"), stream(2, language="eng", default=True),
              stream(3, language="jpn"))
    assert choose_track(tracks, "ja").index == 3
    assert choose_track(tracks, "jpn").index == 3
    assert choose_track(tracks, "de").index == 2  # no German: the default track
    assert choose_track(tracks, None).index == 2
    assert choose_track((stream(4), stream(5)), None).index == 4


def test_french_bibliographic_code_matches_terminology_code() -> None:
    assert choose_track((stream(1, language="eng"), stream(2, language="fre")), "fra").index == 2


def test_wide_sources_are_downmixed_and_odd_rates_resampled() -> None:
    plan = make_plan(probed(stream(1, channels=6, rate=96000)), ConversionOptions(), 3600)
    assert (plan.channels, plan.sample_rate) == (2, 48000)


def test_mp3_source_is_copied_unless_an_option_forces_encoding() -> None:
    source = probed(stream(1, codec="mp3"))
    assert make_plan(source, ConversionOptions(), 3600).copy
    assert not make_plan(source, ConversionOptions(bitrate_kbps=128), 3600).copy


def test_refusals() -> None:
    with pytest.raises(NoAudio):
        make_plan(probed(), ConversionOptions(), 3600)
    with pytest.raises(UndecodableAudio):
        make_plan(probed(stream(1, codec=None, rate=0, channels=0)), ConversionOptions(), 3600)
    with pytest.raises(TooLong):
        make_plan(probed(stream(1, duration=7200.0)), ConversionOptions(), 3600)
    with pytest.raises(BadRequest):
        make_plan(probed(stream(1)), ConversionOptions(start_s=20), 3600)


def test_absurd_claimed_duration_reads_unknown_and_is_not_too_long() -> None:
    # 143165 s claimed for a 100 kB file: fewer than 6 bits a second.
    source = probed(stream(1, duration=None), size=100_000, duration=143165.0)
    plan = make_plan(source, ConversionOptions(), 3600)
    assert plan.expected_duration_s is None
    assert plan.max_output_s == 3600


def test_trim_sets_expected_duration() -> None:
    plan = make_plan(probed(stream(1)), ConversionOptions(start_s=2, end_s=5), 3600)
    assert plan.expected_duration_s == pytest.approx(3.0)
    assert plan.max_output_s == pytest.approx(3.0)


def test_tags_come_from_source_with_overrides() -> None:
    source = probed(stream(1), tags={"title": "T", "artist": "A", "album": "B"})
    plan = make_plan(source, ConversionOptions(artist="Me"), 3600)
    assert plan.tags == {"title": "T", "artist": "Me", "album": "B"}


def test_ffmpeg_arguments_are_hardened() -> None:
    plan = make_plan(probed(stream(3)), ConversionOptions(), 3600)
    args = ffmpeg_args(plan, Path("/tmp/in"), Path("/tmp/out.mp3"))
    assert args[0] == "-nostdin"
    assert args[args.index("-i") + 1] == "file:/tmp/in"
    assert args[args.index("-protocol_whitelist") + 1] == "file"
    assert "hls" not in args[args.index("-format_whitelist") + 1].split(",")
    assert args[args.index("-map") + 1] == "0:3"
    assert args[args.index("-map_metadata") + 1] == "-1"
    assert args[args.index("-id3v2_version") + 1] == "3"
    assert args[-1] == "file:/tmp/out.mp3"
    assert args[args.index("-q:a") + 1] == "2"


def test_a_trim_longer_than_the_limit_is_too_long() -> None:
    with pytest.raises(TooLong):
        make_plan(probed(stream(1, duration=7200.0)), ConversionOptions(end_s=9000), 3600)
    with pytest.raises(TooLong):  # no believable duration: the requested range decides
        make_plan(probed(stream(1, duration=None), duration=None), ConversionOptions(end_s=5000),
                  3600)
    plan = make_plan(probed(stream(1, duration=7200.0)), ConversionOptions(end_s=600), 3600)
    assert not plan.limited_by_max


def test_bitrate_above_what_the_rate_carries_is_refused() -> None:
    with pytest.raises(BadRequest, match="64 kb/s"):
        make_plan(probed(stream(1)), ConversionOptions(sample_rate=8000, bitrate_kbps=320), 3600)
    with pytest.raises(BadRequest, match="160 kb/s"):  # 22.05 kHz source keeps its rate
        make_plan(probed(stream(1, rate=22050)), ConversionOptions(bitrate_kbps=192), 3600)
    make_plan(probed(stream(1, rate=8000)), ConversionOptions(bitrate_kbps=64), 3600)


def test_wide_sources_without_a_layout_get_an_explicit_mix() -> None:
    plan = make_plan(probed(stream(1, channels=9, layout=None)), ConversionOptions(), 3600)
    args = ffmpeg_args(plan, Path("/in"), Path("/out.mp3"))
    assert args[args.index("-af") + 1] == "pan=stereo|c0<c0+c2+c4+c6+c8|c1<c1+c3+c5+c7"
    mono = make_plan(probed(stream(1, channels=3, layout=None)), ConversionOptions(channels=1),
                     3600)
    mono_args = ffmpeg_args(mono, Path("/in"), Path("/out.mp3"))
    assert mono_args[mono_args.index("-af") + 1] == "pan=mono|c0<c0+c1+c2"
    laid_out = make_plan(probed(stream(1, channels=6, layout="5.1")), ConversionOptions(), 3600)
    assert "-af" not in ffmpeg_args(laid_out, Path("/in"), Path("/out.mp3"))
