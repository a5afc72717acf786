"""The public HTTP API: one table read by the CDK API construct and by the local gateway."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Function(StrEnum):
    UPLOAD = "upload"
    GATEWAY = "gateway"


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str  # API Gateway resource syntax: /jobs/{job_id}
    function: Function


ROUTES: tuple[Route, ...] = (
    Route("POST", "/jobs", Function.UPLOAD),
    Route("POST", "/jobs/{job_id}/start", Function.UPLOAD),
    Route("GET", "/jobs", Function.GATEWAY),
    Route("GET", "/jobs/{job_id}", Function.GATEWAY),
    Route("GET", "/jobs/{job_id}/download", Function.GATEWAY),
)

# Lambda handler entry points ("module.attribute"), relative to each function's asset.
HANDLERS: dict[str, str] = {
    "upload": "handler.handler",
    "gateway": "handler.handler",
    "converter": "handler.handler",
}
