"""The conversion core against real FFmpeg, on inputs made with lavfi and the real corpus."""

from __future__ import annotations

import math
import os
import shutil
import struct
import wave
from pathlib import Path

import pytest

from tests.support import media
from tests.support.figures import FigureBook
from vmp3.errors import (
    BadRequest,
    ConversionFailed,
    ConversionTimeout,
    MediaError,
    NoAudio,
    NotMedia,
    Truncated,
    UndecodableAudio,
    UnsupportedFormat,
)
from vmp3.media.convert import ConversionResult, Converter
from vmp3.media.follow import first_frame, sample_rates
from vmp3.media.options import MP3_SAMPLE_RATES, ConversionOptions
from vmp3.media.tools import locate
from vmp3.media.validate import inspect_mp3


@pytest.fixture(scope="module")
def converter() -> Converter:
    return Converter(locate("ffmpeg"), locate("ffprobe"), max_duration_s=600, timeout_s=60)


def convert(converter: Converter, source: Path, tmp_path: Path,
            **options: object) -> ConversionResult:
    job_dir = tmp_path / "job"
    job_dir.mkdir(parents=True, exist_ok=True)
    return converter.convert(source, ConversionOptions.model_validate(options), job_dir)


def test_video_without_audio_is_no_audio(converter: Converter, tmp_path: Path) -> None:
    source = tmp_path / "silent.mp4"
    media.ffmpeg(*media.bars(1), "-c:v", "mpeg4", source)
    with pytest.raises(NoAudio):
        convert(converter, source, tmp_path)
    assert not (tmp_path / "job" / "output.mp3").exists()


def test_audio_only_webm_opus_converts(converter: Converter, tmp_path: Path) -> None:
    source = tmp_path / "voice.webm"
    media.ffmpeg(*media.tone(3, 48000), "-c:a", "libopus", source)
    result = convert(converter, source, tmp_path)
    assert result.duration_s == pytest.approx(3.0, abs=0.1)
    assert media.audio_stream(result.output)["codec_name"] == "mp3"


def two_track_mkv(path: Path) -> Path:
    media.ffmpeg(*media.tone(2, 44100, 440), *media.tone(2, 44100, 1000),
                 "-map", "0:a", "-map", "1:a", "-c:a", "flac",
                 "-metadata:s:a:0", "language=fre", "-metadata:s:a:1", "language=eng",
                 "-disposition:a:0", "0", "-disposition:a:1", "0", path)
    return path


def test_two_tracks_first_by_default_english_on_request(converter: Converter,
                                                        tmp_path: Path) -> None:
    source = two_track_mkv(tmp_path / "two.mkv")
    assert convert(converter, source, tmp_path / "a").track["index"] == 0
    english = convert(converter, source, tmp_path / "b", language="en")
    assert english.track == {"index": 1, "codec": "flac", "sample_rate": 44100, "channels": 1,
                             "language": "eng"}


@pytest.mark.parametrize(("rate", "legal"), [(96000, 48000), (192000, 48000), (7350, 8000)])
def test_pcm_at_rates_mp3_cannot_hold(converter: Converter, tmp_path: Path, rate: int,
                                      legal: int) -> None:
    source = tmp_path / f"pcm{rate}.wav"
    media.ffmpeg(*media.tone(2, rate, 200), "-c:a", "pcm_s16le", source)
    result = convert(converter, source, tmp_path)
    assert result.sample_rate == legal
    assert int(media.audio_stream(result.output)["sample_rate"]) in MP3_SAMPLE_RATES


def test_opus_named_mp3_is_decided_by_the_probe(converter: Converter, tmp_path: Path) -> None:
    source = tmp_path / "x.mp3"
    media.ffmpeg(*media.tone(2, 48000), "-c:a", "libopus", "-f", "webm", source)
    result = convert(converter, source, tmp_path)
    assert not result.copied
    assert result.track["codec"] == "opus"
    assert media.audio_stream(result.output)["codec_name"] == "mp3"


def test_avi_with_mp3_audio_is_stream_copied(converter: Converter, tmp_path: Path) -> None:
    source = media.video_with_tone(tmp_path / "mp3audio.avi", 3, "libmp3lame")
    result = convert(converter, source, tmp_path)
    assert result.copied
    assert media.audio_md5(result.output) == media.audio_md5(source, "0:a:0")
    assert result.source == {"format": "avi", "audio_tracks": 1, "video_streams": 1,
                             "attached_pictures": 0}


def test_moov_at_end_converts_and_cut_in_half_is_truncated(converter: Converter,
                                                           tmp_path: Path) -> None:
    source = media.video_with_tone(tmp_path / "late-moov.mp4", 4)
    assert _moov_after_mdat(source)
    assert convert(converter, source, tmp_path / "whole").duration_s == pytest.approx(4, abs=0.1)
    half = tmp_path / "half.mp4"
    half.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(Truncated):
        convert(converter, half, tmp_path / "half")
    assert not list((tmp_path / "half" / "job").glob("*.mp3"))


def _moov_after_mdat(path: Path) -> bool:
    data = path.read_bytes()
    return data.find(b"moov") > data.find(b"mdat") > 0


@pytest.mark.parametrize("kind", media.NOT_MEDIA_KINDS)
def test_non_media_is_not_media(converter: Converter, tmp_path: Path, kind: str) -> None:
    source = media.not_media(kind, tmp_path / "video.mp4")
    with pytest.raises(NotMedia):
        convert(converter, source, tmp_path)


def playlist(kind: str, target: Path) -> str:
    if kind == "hls":
        return (f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n"
                f"file:{target}\n#EXT-X-ENDLIST\n")
    return f"ffconcat version 1.0\nfile '{target}'\n"


@pytest.mark.parametrize("kind", ["hls", "concat"])
def test_playlists_naming_local_media_are_unsupported(converter: Converter, tmp_path: Path,
                                                      kind: str) -> None:
    target = media.video_with_tone(tmp_path / "real.mp4", 1)
    source = tmp_path / "upload.mp4"
    source.write_text(playlist(kind, target))
    with pytest.raises(UnsupportedFormat, match=r"hls|concat"):
        convert(converter, source, tmp_path)


@pytest.mark.parametrize("name", ["-i.mp4", "it's a (test) ;$(id).mp4", "日本語の動画.mp4"])
def test_hostile_names_are_just_files(converter: Converter, tmp_path: Path, name: str) -> None:
    source = media.video_with_tone(tmp_path / "clip.mp4", 1)
    odd = tmp_path / name
    shutil.copy(source, odd)
    assert convert(converter, odd, tmp_path).duration_s == pytest.approx(1, abs=0.1)


def test_tags_are_id3v23_and_carry_no_container_junk(converter: Converter,
                                                     tmp_path: Path) -> None:
    source = media.video_with_tone(tmp_path / "tagged.mp4", 1, extra=(
        "-metadata", "title=Song", "-metadata", "artist=Band", "-metadata", "album=LP",
        "-metadata", "genre=Jazz"))
    result = convert(converter, source, tmp_path, artist="Override")
    tag = media.id3_frames(result.output)
    assert tag[3] == 3  # ID3v2.3
    assert b"TIT2" in tag and b"Song" in tag and b"Override" in tag and b"Band" not in tag
    for junk in (b"major_brand", b"compatible_brands", b"Lavf", b"TSSE", b"TXXX"):
        assert junk not in tag
    assert media.probe(result.output)["format"]["tags"]["album"] == "LP"


def test_cbr_vbr_and_trim(converter: Converter, tmp_path: Path) -> None:
    source = media.video_with_tone(tmp_path / "long.mp4", 6)
    cbr = convert(converter, source, tmp_path / "cbr", bitrate_kbps=128)
    assert cbr.bitrate_kbps == pytest.approx(128, abs=3)
    trimmed = convert(converter, source, tmp_path / "trim", start_s=1.5, end_s=4.0,
                      quality=5, channels=1, sample_rate=22050)
    assert trimmed.duration_s == pytest.approx(2.5, abs=0.1)
    assert (trimmed.channels, trimmed.sample_rate) == (1, 22050)


HANGING_FFMPEG = """#!/bin/sh
sleep 300 &
echo "$$ $!" > "{pids}"
sleep 300
"""


def test_hanging_ffmpeg_is_killed_with_its_children(tmp_path: Path,
                                                    figures: FigureBook) -> None:
    pids = tmp_path / "pids"
    fake = tmp_path / "ffmpeg"
    fake.write_text(HANGING_FFMPEG.format(pids=pids))
    fake.chmod(0o755)
    hanging = Converter(fake, locate("ffprobe"), max_duration_s=600, timeout_s=1.0)
    source = media.video_with_tone(tmp_path / "clip.mp4", 1)
    with pytest.raises(ConversionTimeout):
        hanging.convert(source, ConversionOptions(), tmp_path)
    leftover = [pid for pid in map(int, pids.read_text().split()) if _alive(pid)]
    figures.record("Reliability", "an FFmpeg that hangs (timeout 1 s)",
                   f"killed at the timeout; {len(leftover)} of its processes left")
    assert leftover == []
    assert not list(tmp_path.glob("output*.mp3"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0]
    except (FileNotFoundError, IndexError):
        return "Z"




@pytest.mark.parametrize("entry", media.corpus_params())
def test_corpus_core(converter: Converter, tmp_path: Path,
                     entry: media.CorpusEntry | None) -> None:
    """The core alone on every corpus file; e2e repeats this through the whole stack."""
    entry = media.require_entry(entry)
    source = media.MEDIA_DIR / entry.file
    if entry.expect == "reject":
        with pytest.raises(MediaError) as refused:
            convert(converter, source, tmp_path)
        assert getattr(refused.value, "code", "") in {"no_audio", "undecodable_audio",
                                                      "not_media", "truncated"}
        return
    result = convert(converter, source, tmp_path)
    assert media.frame_duration_s(result.output) == pytest.approx(entry.duration_s, abs=0.1)


def test_attached_pictures_are_reported(converter: Converter, tmp_path: Path) -> None:
    source = tmp_path / "cover.mkv"
    cover = tmp_path / "cover.png"
    media.ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:duration=1", "-frames:v", "1", cover)
    media.ffmpeg(*media.tone(1), "-attach", cover, "-metadata:s:t", "mimetype=image/png",
                 "-c:a", "flac", source)
    result = convert(converter, source, tmp_path)
    assert result.source["attached_pictures"] == 1
    assert result.source["audio_tracks"] == 1


def test_mp3_with_damaged_frames_is_reencoded_not_copied(converter: Converter,
                                                         tmp_path: Path) -> None:
    clean = tmp_path / "clean.mp3"
    media.ffmpeg(*media.tone(10, 44100), "-c:a", "libmp3lame", "-q:a", "2", clean)
    data = bytearray(clean.read_bytes())
    for offset in range(20_000, len(data) - 400, 9_000):
        data[offset:offset + 400] = bytes((offset + i) % 251 for i in range(400))
    damaged = tmp_path / "damaged.mp3"
    damaged.write_bytes(bytes(data))
    result = convert(converter, damaged, tmp_path)
    assert not result.copied
    assert result.duration_s == pytest.approx(10, abs=0.5)


def test_layout_less_wide_audio_is_downmixed(converter: Converter, tmp_path: Path) -> None:
    source = tmp_path / "nine.wav"
    frames = [int(8000 * math.sin(2 * math.pi * 440 * n / 48000)) for n in range(96000)]
    with wave.open(str(source), "wb") as out:  # plain WAV: no channel mask, no layout
        out.setnchannels(9)
        out.setsampwidth(2)
        out.setframerate(48000)
        out.writeframes(b"".join(struct.pack("<h", v) * 9 for v in frames))
    assert media.audio_stream(source)["channels"] == 9
    result = convert(converter, source, tmp_path)
    assert result.channels == 2
    assert result.duration_s == pytest.approx(2, abs=0.1)


def test_trims_that_select_nothing_and_empty_tracks(converter: Converter,
                                                    tmp_path: Path) -> None:
    source = media.video_with_tone(tmp_path / "v.mp4", 3)
    with pytest.raises(BadRequest):
        convert(converter, source, tmp_path / "a", end_s=1e-9)
    empty = tmp_path / "empty.wav"
    media.ffmpeg(*media.tone(1), "-t", "0", "-c:a", "pcm_s16le", empty)
    with pytest.raises((NoAudio, NotMedia, UndecodableAudio)):
        convert(converter, empty, tmp_path / "b")


def test_the_xing_frame_count_is_read_and_a_cut_mp3_fails(converter: Converter,
                                                          tmp_path: Path) -> None:
    result = convert(converter, media.video_with_tone(tmp_path / "v.mp4", 4), tmp_path)
    frame = first_frame(result.output)
    assert frame is not None
    assert frame.stated_frames == media.packet_count(result.output)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(result.output.read_bytes()[: result.output.stat().st_size // 2])
    with pytest.raises(ConversionFailed):
        inspect_mp3(cut, converter.ffmpeg, converter.ffprobe, tmp_path)


def test_mp3_that_changes_rate_mid_stream_is_reencoded(converter: Converter,
                                                       tmp_path: Path) -> None:
    parts = []
    for rate in (44100, 22050):
        part = tmp_path / f"{rate}.mp3"
        media.ffmpeg(*media.tone(3, rate), "-c:a", "libmp3lame", "-write_xing", "0",
                     "-id3v2_version", "0", part)
        parts.append(part.read_bytes())
    mixed = tmp_path / "mixed.mp3"
    mixed.write_bytes(b"".join(parts))
    assert sample_rates(mixed) == {44100, 22050}
    result = convert(converter, mixed, tmp_path)
    assert not result.copied
    assert sample_rates(result.output) == {result.sample_rate}


def test_a_plain_copy_keeps_one_rate(converter: Converter, tmp_path: Path) -> None:
    source = media.video_with_tone(tmp_path / "mp3audio.avi", 2, "libmp3lame")
    result = convert(converter, source, tmp_path)
    assert result.copied
    assert sample_rates(result.output) == {44100}
