"""The Lambda HTTP entry points, called with API Gateway events as AWS would send them.

AWS itself cannot run here, so the events are built by hand in the documented REST (v1)
proxy shape; everything behind the handler is real.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from tests.support import media
from tests.support.jobs import uploaded_job
from vmp3 import lambdas
from vmp3.observability import get_logger
from vmp3.services.context import ServiceContext


def rest_event(method: str, path: str, owner: str | None, body: Any = None) -> dict[str, Any]:
    identity = {"sourceIp": "203.0.113.9", **({"apiKeyId": owner} if owner else {})}
    return {"resource": path, "path": path, "httpMethod": method,
            "headers": {"content-type": "application/json"}, "multiValueHeaders": {},
            "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": None, "stageVariables": None,
            "requestContext": {"stage": "prod", "requestId": "r-1", "identity": identity,
                               "resourcePath": path, "httpMethod": method},
            "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False}


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def test_start_through_the_lambda_logs_the_job_id(fresh_ctx: ServiceContext,
                                                  tmp_path: Path) -> None:
    handler = lambdas.build_upload_handler(fresh_ctx)
    logger = get_logger("vmp3-upload", "INFO")
    collect = Collect()
    collect.setFormatter(logger.registered_formatter)
    logging.getLogger("vmp3.services.uploads").addHandler(collect)
    try:
        job = uploaded_job(fresh_ctx, media.video_with_tone(tmp_path / "a.mp4", 1), owner="k1")
        response = handler(rest_event("POST", f"/jobs/{job.id}/start", "k1"), None)
    finally:
        logging.getLogger("vmp3.services.uploads").removeHandler(collect)
    assert response["statusCode"] == 202
    queued = [line for line in collect.lines if line["message"] == "job queued"]
    assert queued
    assert queued[0]["job_id"] == job.id


def test_a_request_without_identity_is_401(fresh_ctx: ServiceContext) -> None:
    response = lambdas.build_gateway_handler(fresh_ctx)(rest_event("GET", "/jobs", None), None)
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"]["code"] == "unauthorized"
