"""Converter sizing from the benchmark, and context parsing."""

from __future__ import annotations

import pytest
from aws_cdk import App

from infra.config import StackConfig
from infra.sizing import LAMBDA_MAX_TIMEOUT_S, ONE_VCPU_MB, converter_sizing

pytestmark = pytest.mark.infra
GIB = 1024**3


def test_default_limits_fit_lambda() -> None:
    sizing = converter_sizing(2 * GIB, 4 * 3600)
    assert sizing.memory_mb == ONE_VCPU_MB
    assert sizing.timeout_s <= LAMBDA_MAX_TIMEOUT_S
    assert sizing.conversion_timeout_s > sizing.estimated_ffmpeg_s
    assert sizing.ephemeral_mb * 1024**2 >= 2 * GIB  # the whole upload fits in /tmp


def test_a_ten_minute_video_is_quick() -> None:
    sizing = converter_sizing(100 * 1024**2, 600)
    assert sizing.estimated_ffmpeg_s == pytest.approx(11.6)
    assert sizing.timeout_s <= 120


def test_limits_beyond_the_lambda_cap_are_refused() -> None:
    with pytest.raises(ValueError, match="Fargate"):
        converter_sizing(2 * GIB, 24 * 3600)


def test_context_is_typed() -> None:
    app = App(context={"vmp3:stage": "prod", "vmp3:maxUploadBytes": "1048576",
                       "vmp3:allowedOrigins": "https://a.example,https://b.example",
                       "vmp3:highAvailability": "true"})
    config = StackConfig.from_context(app.node)
    assert config.stage == "prod"
    assert config.max_upload_bytes == 1048576
    assert config.allowed_origins == ("https://a.example", "https://b.example")
    assert config.high_availability is True


@pytest.mark.parametrize(("context", "error"), [
    ({"vmp3:stage": "Prod-1"}, "stage"),
    ({"vmp3:maxUploadBytes": "-1"}, "max_upload_bytes"),
    ({"vmp3:allowedOrigins": ["*"]}, "origin"),
    ({"vmp3:highAvailability": "yes"}, "true or false"),
])
def test_bad_context_is_refused(context: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        StackConfig.from_context(App(context=context).node)
