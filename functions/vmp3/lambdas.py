"""Lambda entry points. The folders under functions/ re-export these as ``handler``.

``build_*`` make a handler over a given ServiceContext (the local gateway and tests use
them); the module-level handlers build one context per warm Lambda container, lazily.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

from mangum import Mangum

from vmp3.api import gateway, upload
from vmp3.observability import get_logger, job_context
from vmp3.services import conversion, uploads
from vmp3.services.context import ServiceContext
from vmp3.settings import get_settings

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def build_upload_handler(ctx: ServiceContext) -> LambdaHandler:
    """API Gateway requests, and S3 ObjectCreated events for uploads/*."""
    http = Mangum(upload.create_app(ctx.settings, ctx), lifespan="off")

    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        records = event.get("Records") or []
        if records and records[0].get("eventSource") == "aws:s3":
            return {"started": _start_uploaded(ctx, records)}
        response: dict[str, Any] = http(event, context)
        return response

    return handle


def _start_uploaded(ctx: ServiceContext, records: list[dict[str, Any]]) -> list[str]:
    keys = (unquote_plus(record["s3"]["object"]["key"]) for record in records)
    jobs = (uploads.start_from_object_key(ctx, key) for key in keys)
    return [job.id for job in jobs if job is not None]


def build_gateway_handler(ctx: ServiceContext) -> LambdaHandler:
    http = Mangum(gateway.create_app(ctx.settings, ctx), lifespan="off")

    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        response: dict[str, Any] = http(event, context)
        return response

    return handle


def build_converter_handler(ctx: ServiceContext) -> LambdaHandler:
    """An ``aws:rmq`` batch from the Amazon MQ event source mapping.

    An infrastructure error raises, so the event source retries the batch; a job the
    input dooms is marked failed and copied to the dead-letter queue, then acknowledged.
    """
    logger = get_logger("vmp3-converter", ctx.settings.log_level)

    def handle(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        outcomes: list[str] = []
        for deliveries in (event.get("rmqMessagesByQueue") or {}).values():
            for delivery in deliveries:
                outcomes.append(_convert_delivery(ctx, logger, delivery))
        return {"outcomes": outcomes}

    return handle


def _convert_delivery(ctx: ServiceContext, logger: Any, delivery: dict[str, Any]) -> str:
    body = base64.b64decode(delivery["data"])
    headers = (delivery.get("basicProperties") or {}).get("headers") or {}
    earlier = headers.get("x-delivery-count", 0)
    message = conversion.parse_message(body)
    if message is None:
        outcome = conversion.Outcome.FAILED
    else:
        with job_context(logger, message.job_id):
            outcome = conversion.process(ctx, message, earlier if isinstance(earlier, int) else 0)
    if outcome is conversion.Outcome.FAILED:
        ctx.publisher.dead_letter(body)
    return outcome


@lru_cache(maxsize=1)
def _warm_context() -> ServiceContext:
    return ServiceContext(get_settings())


@lru_cache(maxsize=3)
def _warm(builder: Callable[[ServiceContext], LambdaHandler]) -> LambdaHandler:
    return builder(_warm_context())


def upload_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _warm(build_upload_handler)(event, context)


def gateway_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _warm(build_gateway_handler)(event, context)


def converter_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _warm(build_converter_handler)(event, context)
