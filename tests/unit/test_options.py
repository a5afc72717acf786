import pytest
from pydantic import ValidationError

from vmp3.media.options import ConversionOptions, nearest_mp3_rate


@pytest.mark.parametrize(("rate", "legal"), [(96000, 48000), (192000, 48000), (7350, 8000),
                                             (44100, 44100), (64000, 48000), (11000, 11025),
                                             (4000, 8000)])
def test_nearest_legal_rate(rate: int, legal: int) -> None:
    assert nearest_mp3_rate(rate) == legal


@pytest.mark.parametrize("bad", [
    {"bitrate_kbps": 31}, {"bitrate_kbps": 321}, {"bitrate_kbps": 100},
    {"quality": 10}, {"quality": -1}, {"bitrate_kbps": 128, "quality": 2},
    {"start_s": 5, "end_s": 5}, {"start_s": -1}, {"sample_rate": 96000},
    {"channels": 6}, {"language": "english!"}, {"unknown": 1},
])
def test_bad_options_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ConversionOptions.model_validate(bad)


def test_defaults_allow_stream_copy_and_mean_vbr() -> None:
    options = ConversionOptions()
    assert not options.forces_reencode
    assert options.is_vbr


@pytest.mark.parametrize("forcing", [{"bitrate_kbps": 128}, {"quality": 4}, {"start_s": 1},
                                     {"end_s": 2}, {"sample_rate": 22050}, {"channels": 1}])
def test_explicit_output_options_force_reencode(forcing: dict[str, object]) -> None:
    assert ConversionOptions.model_validate(forcing).forces_reencode


def test_language_and_tags_do_not_force_reencode() -> None:
    assert not ConversionOptions(language="en", title="t", artist="a").forces_reencode
