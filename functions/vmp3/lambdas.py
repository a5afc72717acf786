"""Lambda entry points. The folders under functions/ re-export these as ``handler``."""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

from fastapi import FastAPI
from mangum import Mangum

from vmp3.api import gateway, upload
from vmp3.observability import get_logger, job_context
from vmp3.services import conversion, uploads
from vmp3.services.context import ServiceContext
from vmp3.settings import Settings, get_settings

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


@lru_cache(maxsize=1)
def _context() -> ServiceContext:
    return ServiceContext(get_settings())


@lru_cache(maxsize=2)
def _http(factory: Callable[[Settings, ServiceContext], FastAPI]) -> Mangum:
    return Mangum(factory(get_settings(), _context()), lifespan="off")


def upload_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway requests, and S3 ObjectCreated events for uploads/*."""
    records = event.get("Records") or []
    if records and records[0].get("eventSource") == "aws:s3":
        started = [_start_uploaded(r["s3"]["object"]["key"]) for r in records]
        return {"started": [job_id for job_id in started if job_id]}
    response: dict[str, Any] = _http(upload.create_app)(event, context)
    return response


def _start_uploaded(raw_key: str) -> str | None:
    job = uploads.start_from_object_key(_context(), unquote_plus(raw_key))
    return None if job is None else job.id


def gateway_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = _http(gateway.create_app)(event, context)
    return response


def converter_handler(event: dict[str, Any], _context_obj: Any) -> dict[str, Any]:
    """An ``aws:rmq`` batch from the Amazon MQ event source mapping.

    An infrastructure error raises, so the event source retries the batch; a job the
    input dooms is marked failed and copied to the dead-letter queue, then acknowledged.
    """
    ctx = _context()
    logger = get_logger("vmp3-converter", ctx.settings.log_level)
    outcomes: list[str] = []
    for messages in (event.get("rmqMessagesByQueue") or {}).values():
        for delivery in messages:
            body = base64.b64decode(delivery["data"])
            message = conversion.parse_message(body)
            if message is None:
                ctx.publisher.dead_letter(body)
                outcomes.append(conversion.Outcome.FAILED)
                continue
            with job_context(logger, message.job_id):
                outcome = conversion.process(ctx, message)
            if outcome is conversion.Outcome.FAILED:
                ctx.publisher.dead_letter(body)
            outcomes.append(outcome)
    return {"outcomes": outcomes}
