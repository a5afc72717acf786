"""What API Gateway does, done locally: routes, API keys, a usage-plan rate, Lambda events.

Each request becomes an API Gateway REST (v1) proxy event handed to the same Lambda
handler AWS would call, so the local stack runs the deployed code path.
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as StarletteRoute

from vmp3 import lambdas
from vmp3.api.common import error_body
from vmp3.lambdas import LambdaHandler
from vmp3.routes import ROUTES, Function, Route
from vmp3.services.context import ServiceContext


def function_handlers(ctx: ServiceContext) -> dict[Function, LambdaHandler]:
    """The Lambda handlers API Gateway would invoke, over one local context."""
    return {Function.UPLOAD: lambdas.build_upload_handler(ctx),
            Function.GATEWAY: lambdas.build_gateway_handler(ctx)}


# The request bodies of this API are small JSON documents; API Gateway itself caps at 10 MB.
MAX_BODY_BYTES = 64 * 1024


@dataclass
class TokenBucket:
    """A usage plan's rate and burst for one API key."""

    rate_per_s: float
    burst: int
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> float:
        """0 when a request may pass, else the seconds until one may."""
        with self.lock:
            now = time.monotonic()
            if self.tokens < 0:
                self.tokens = float(self.burst)
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate_per_s)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate_per_s


@dataclass(frozen=True)
class UsagePlan:
    rate_per_s: float = 50.0
    burst: int = 100


class LocalGatewaySettings(BaseSettings):
    """The local gateway's own settings (prefix ``VMP3_LOCAL_``); AWS has a usage plan instead."""

    model_config = SettingsConfigDict(env_prefix="VMP3_LOCAL_", frozen=True)

    api_key: str | None = None  # default: the key ``vmp3 local up`` generated
    key_id: str = "local-owner"
    rate_per_s: float = Field(default=UsagePlan.rate_per_s, gt=0)
    burst: int = Field(default=UsagePlan.burst, gt=0)

    @property
    def plan(self) -> UsagePlan:
        return UsagePlan(self.rate_per_s, self.burst)


def _matcher(route: Route) -> re.Pattern[str]:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route.path)
    return re.compile(f"^{pattern}$")


class LocalGateway:
    def __init__(self, api_keys: dict[str, str], handlers: dict[Function, LambdaHandler],
                 plan: UsagePlan | None = None) -> None:
        self._keys = api_keys  # API key value -> key id (the owner)
        self._plan = plan or UsagePlan()
        self._buckets: dict[str, TokenBucket] = {}
        self._handlers = handlers
        self._routes = [(route, _matcher(route)) for route in ROUTES]

    def app(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
        return Starlette(routes=[StarletteRoute("/{path:path}", self._dispatch, methods=methods)])

    async def _dispatch(self, request: Request) -> Response:
        key_id = self._keys.get(request.headers.get("x-api-key", ""))
        if key_id is None:
            return JSONResponse(error_body("unauthorized", "a valid API key is required"), 401)
        wait_s = self._bucket(key_id).take()
        if wait_s > 0:
            return JSONResponse(error_body("rate_limited", "too many requests"), 429,
                                headers={"Retry-After": str(max(1, math.ceil(wait_s)))})
        found = self._route(request.method, request.url.path)
        if found is None:
            return self._no_route(request)
        if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
            return JSONResponse(error_body("too_large", "the request body is too large"), 413)
        route, params = found
        event = await _event(request, route, params, key_id)
        result = await run_in_threadpool(_invoke, self._handlers[route.function], event)
        return _response(result)

    def _no_route(self, request: Request) -> Response:
        path = request.url.path
        if any(pattern.match(path) for _route, pattern in self._routes):
            return JSONResponse(error_body("method_not_allowed",
                                           f"{request.method} is not allowed here"), 405)
        return JSONResponse(error_body("not_found", "no such route"), 404)

    def _bucket(self, key_id: str) -> TokenBucket:
        if key_id not in self._buckets:
            self._buckets[key_id] = TokenBucket(self._plan.rate_per_s, self._plan.burst)
        return self._buckets[key_id]

    def _route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route, pattern in self._routes:
            match = pattern.match(path)
            if match and route.method == method:
                return route, match.groupdict()
        return None


_thread_state = threading.local()


def _invoke(handler: LambdaHandler, event: dict[str, Any]) -> dict[str, Any]:
    """Call a Lambda handler the way the Lambda runtime does: in a thread with an event loop.

    Mangum asks for the thread's current loop; worker threads have none until given one.
    """
    loop = getattr(_thread_state, "loop", None)
    if loop is None:
        loop = _thread_state.loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return handler(event, None)


async def _event(request: Request, route: Route, params: dict[str, str],
                 key_id: str) -> dict[str, Any]:
    body = await request.body()
    query = dict(request.query_params)
    return {
        "resource": route.path, "path": request.url.path, "httpMethod": request.method,
        "headers": dict(request.headers),
        "multiValueHeaders": {k: request.headers.getlist(k) for k in request.headers},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: request.query_params.getlist(k)
                                            for k in query} or None,
        "pathParameters": params or None, "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path, "httpMethod": request.method, "stage": "local",
            "requestId": str(uuid.uuid4()), "path": request.url.path,
            "identity": {"apiKeyId": key_id, "sourceIp": request.client.host
                         if request.client else "127.0.0.1"},
        },
        "body": base64.b64encode(body).decode() if body else None,
        "isBase64Encoded": bool(body),
    }


def _response(result: dict[str, Any]) -> Response:
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    headers = {k: v for k, v in (result.get("headers") or {}).items()
               if k.lower() != "content-length"}
    return Response(raw, status_code=int(result["statusCode"]), headers=headers)
