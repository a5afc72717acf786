"""What a caller may ask of a conversion, validated before anything runs."""

from __future__ import annotations

import unicodedata
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Sample rates an MPEG-1/2/2.5 layer III stream can carry.
MP3_SAMPLE_RATES: tuple[int, ...] = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
# Bitrates LAME accepts for CBR across MPEG versions, in kb/s.
MP3_BITRATES_KBPS: tuple[int, ...] = (32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 192, 224,
                                      256, 320)
DEFAULT_VBR_QUALITY = 2
# Unicode categories that print nothing or reorder text: control, format (e.g. RTL
# override), line and paragraph separators, unassigned.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cn", "Cs", "Co"})


def max_bitrate_kbps(sample_rate: int) -> int:
    """LAME's highest CBR rate for an MPEG-1 (32 kHz+), MPEG-2 or MPEG-2.5 (below 16 kHz) stream."""
    if sample_rate >= 32000:
        return 320
    return 160 if sample_rate >= 16000 else 64
# No source, real or claimed, is taken as longer than this (a sanity bound, not the limit).
MAX_MEDIA_SECONDS = 48 * 3600.0


def nearest_mp3_rate(rate: int) -> int:
    """The legal MP3 sample rate closest to ``rate`` (ties go to the higher rate)."""
    return min(MP3_SAMPLE_RATES, key=lambda legal: (abs(legal - rate), -legal))


class ConversionOptions(BaseModel):
    """Output options; every field left ``None`` means "decide from the source"."""

    # strict: no "true" for 1; no inf or NaN for a time.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    bitrate_kbps: int | None = Field(default=None, description="CBR bitrate, 32-320 kb/s")
    quality: int | None = Field(default=None, ge=0, le=9, description="VBR quality V0 (best)-V9")
    sample_rate: int | None = Field(default=None, description="output sample rate in Hz")
    channels: Literal[1, 2] | None = None
    start_s: float | None = Field(default=None, ge=0)
    end_s: float | None = Field(default=None, gt=0)
    language: str | None = Field(default=None, min_length=2, max_length=3, pattern="^[A-Za-z]+$")
    title: str | None = Field(default=None, max_length=500)
    artist: str | None = Field(default=None, max_length=500)

    @field_validator("title", "artist")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and any(unicodedata.category(ch) in _UNPRINTABLE for ch in value):
            raise ValueError("must not contain control or invisible formatting characters")
        return value

    @field_validator("bitrate_kbps")
    @classmethod
    def _legal_bitrate(cls, value: int | None) -> int | None:
        if value is not None and value not in MP3_BITRATES_KBPS:
            raise ValueError(f"bitrate must be one of {', '.join(map(str, MP3_BITRATES_KBPS))}")
        return value

    @field_validator("sample_rate")
    @classmethod
    def _legal_rate(cls, value: int | None) -> int | None:
        if value is not None and value not in MP3_SAMPLE_RATES:
            raise ValueError(f"sample_rate must be one of {', '.join(map(str, MP3_SAMPLE_RATES))}")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.bitrate_kbps is not None and self.quality is not None:
            raise ValueError("give bitrate_kbps or quality, not both")
        if self.start_s is not None and self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError("end_s must be after start_s")
        return self

    @property
    def forces_reencode(self) -> bool:
        """True when the caller asked for something a stream copy cannot give."""
        asked = (self.bitrate_kbps, self.quality, self.sample_rate, self.channels,
                 self.start_s, self.end_s)
        return any(value is not None for value in asked)

    @property
    def is_vbr(self) -> bool:
        return self.bitrate_kbps is None
