"""What both HTTP functions share: identity, the service context, and the error mapping."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from vmp3.errors import NotFound, Unauthorized, Vmp3Error
from vmp3.jobs import Job, is_job_id
from vmp3.observability import get_logger, job_context
from vmp3.services import records
from vmp3.services.context import ServiceContext
from vmp3.settings import Settings

_OWNER = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_JOB_IN_PATH = re.compile(r"/jobs/([0-9a-fA-F-]{36})")


def owner_of(request: Request) -> str:
    """The caller: the API key's id, as API Gateway (or the local gateway) put it in the event.

    It is read from the Lambda event, never from a header, so a client cannot choose it.
    """
    event: dict[str, Any] = request.scope.get("aws.event") or {}
    identity = (event.get("requestContext") or {}).get("identity") or {}
    owner = identity.get("apiKeyId")
    if not isinstance(owner, str) or not _OWNER.match(owner):
        raise Unauthorized("a valid API key is required")
    return owner


def context_of(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


Owner = Annotated[str, Depends(owner_of)]
Context = Annotated[ServiceContext, Depends(context_of)]


def owned_job(job_id: str, owner: Owner, ctx: Context) -> Job:
    if not is_job_id(job_id):  # never let a crafted id reach a store key
        raise NotFound(f"no job {job_id[:64]}")
    return records.get_owned(ctx, job_id, owner)


OwnedJob = Annotated[Job, Depends(owned_job)]


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


async def _vmp3_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Vmp3Error)
    return JSONResponse(error_body(exc.code, exc.message), status_code=exc.http_status)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = f"{where}: {first.get('msg', 'invalid request')}" if where else "invalid request"
    return JSONResponse(error_body("bad_request", message), status_code=400)


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found",
               405: "method_not_allowed", 413: "too_large"}


async def _http_error(_request: Request, exc: Exception) -> Response:
    """Framework errors (unparsable body, unknown route) in the same envelope as ours."""
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)


async def _unexpected(_request: Request, _exc: Exception) -> Response:
    return JSONResponse(error_body("internal", "an internal error occurred"), status_code=500)


class _JobIdLogging(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        match = _JOB_IN_PATH.search(request.url.path)
        with job_context(request.app.state.logger, match.group(1) if match else None):
            return await call_next(request)


def build_app(title: str, settings: Settings, ctx: ServiceContext | None = None) -> FastAPI:
    app = FastAPI(title=title, version="1", docs_url=None, redoc_url=None)
    app.state.ctx = ctx or ServiceContext(settings)
    app.state.logger = get_logger(title, settings.log_level)
    app.add_exception_handler(Vmp3Error, _vmp3_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(_JobIdLogging)
    return app
