"""Typed settings, read once from the environment (prefix ``VMP3_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vmp3.media.options import MAX_MEDIA_SECONDS

# Credentials that ship in examples; a deployed stage must never run with them.
PLACEHOLDER_PASSWORDS = frozenset({"guest", "changeme", "password", "secret", ""})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VMP3_", frozen=True)

    stage: str = "local"
    # Endpoints, chosen by URL so one code path serves AWS and the local emulation.
    redis_url: str = "redis://127.0.0.1:6379/0"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    s3_endpoint_url: str | None = None
    # On AWS the URLs carry no credentials; these Secrets Manager ARNs hold them.
    redis_secret_arn: str | None = None
    amqp_secret_arn: str | None = None
    secrets_endpoint_url: str | None = None  # LocalStack in tests; AWS's own when unset
    aws_region: str = "us-east-1"
    bucket: str = "vmp3-local"
    s3_multipart_threshold_bytes: int = Field(default=64 * 1024**2, ge=5 * 1024**2)
    queue_name: str = "vmp3.convert"

    # Limits a stranger's file must fit.
    max_upload_bytes: int = Field(default=2 * 1024**3, gt=0)
    max_duration_s: float = Field(default=4 * 3600, gt=0, le=MAX_MEDIA_SECONDS)
    conversion_timeout_s: float = Field(default=1800, gt=0)
    # On SIGTERM a converter finishes its job within this, or hands it back to the queue.
    shutdown_grace_s: float = Field(default=60, ge=0)
    # FFmpeg's confinement: address space per process, and the network sandbox
    # ("auto": bubblewrap where it works, "bwrap": required, "none": allowlists only).
    ffmpeg_memory_bytes: int = Field(default=2 * 1024**3, gt=0)
    sandbox: Literal["auto", "bwrap", "none"] = "auto"

    # Presigned URLs and record retention.
    upload_url_expiry_s: int = Field(default=900, gt=0, le=900)
    download_url_expiry_s: int = Field(default=900, gt=0, le=900)
    record_ttl_s: int = Field(default=7 * 86400, gt=0)

    # FFmpeg: an explicit path wins, then PATH, then the pip-installed static build.
    ffmpeg_path: Path | None = None
    ffprobe_path: Path | None = None
    work_dir: Path | None = None

    log_level: str = "INFO"

    @property
    def max_output_bytes(self) -> int:
        """The largest MP3 the longest allowed source can make (320 kb/s), plus headroom."""
        return int(self.max_duration_s * 320_000 / 8 * 1.05) + 1024**2

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.stage == "local":
            return self
        for name in ("redis_url", "amqp_url"):
            password = urlsplit(getattr(self, name)).password
            if password is not None and password in PLACEHOLDER_PASSWORDS:
                raise ValueError(f"{name} uses a placeholder password on stage {self.stage!r}")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process; Lambda reuses them across invocations."""
    return Settings()
