"""Deployment settings read from CDK context (cdk.json or ``-c key=value``), typed and checked."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

from constructs import Node

PREFIX = "vmp3:"


@dataclass(frozen=True, slots=True)
class StackConfig:
    stage: str = "dev"
    # Limits a stranger's upload must fit (mirrors Settings.max_upload_bytes / max_duration_s).
    max_upload_bytes: int = 2 * 1024**3
    max_duration_s: int = 4 * 3600
    # Retention: raw uploads are only needed until converted; outputs live as long as records.
    upload_retention_days: int = 1
    output_retention_days: int = 7
    log_retention_days: int = 30
    # Browser origins allowed to call the API and use presigned URLs; empty means none.
    allowed_origins: tuple[str, ...] = ()
    # API keys created for the usage plan (names only; API Gateway generates the values).
    api_keys: tuple[str, ...] = ("default",)
    throttle_rate_limit: int = 10
    throttle_burst_limit: int = 20
    quota_per_day: int = 1000
    converter_concurrency: int = 5
    # Multi-AZ broker and cache; off for dev to keep the idle cost low.
    high_availability: bool = False
    broker_instance_type: str = "mq.t3.micro"
    broker_engine_version: str = "3.13"
    cache_node_type: str = "cache.t4g.micro"
    # An existing SNS topic for alarm notifications; empty means alarms without actions.
    alarm_topic_arn: str = ""
    # Install third-party wheels into the zip assets and build the FFmpeg layer at synth time.
    # Tests turn it off: synth then stays fast and offline.
    bundle: bool = True

    @property
    def record_ttl_s(self) -> int:
        return self.output_retention_days * 86400

    @classmethod
    def from_context(cls, node: Node) -> StackConfig:
        values: dict[str, Any] = {}
        for item in fields(cls):
            key = PREFIX + _camel(item.name)
            raw = node.try_get_context(key)
            if raw is not None:
                values[item.name] = _coerce(key, raw, item.default)
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        if not self.stage.isalnum() or not self.stage.islower():
            raise ValueError(f"stage must be lower-case alphanumeric, got {self.stage!r}")
        for name in ("max_upload_bytes", "max_duration_s", "upload_retention_days",
                     "output_retention_days", "quota_per_day", "converter_concurrency"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for origin in self.allowed_origins:
            if not origin.startswith(("https://", "http://localhost")) or origin == "*":
                raise ValueError(f"allowed origin must be an https:// origin, got {origin!r}")


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


def _coerce(key: str, raw: Any, default: Any) -> Any:
    """Context from ``-c`` arrives as strings; cdk.json gives JSON types."""
    if isinstance(raw, str) and not isinstance(default, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raw = [part for part in raw.split(",") if part] if isinstance(default, tuple) else raw
    if isinstance(default, bool):
        if not isinstance(raw, bool):
            raise ValueError(f"{key} must be true or false")
        return raw
    if isinstance(default, int):
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(f"{key} must be an integer")
        return raw
    if isinstance(default, tuple):
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            raise ValueError(f"{key} must be a list of strings")
        return tuple(raw)
    return str(raw)
