"""One exception tree for the whole service.

Every failure a user can see is a ``Vmp3Error`` with a stable ``code`` (what clients
branch on) and a ``message`` (what a person reads). The HTTP layer maps the branch
to a status; the converter stores code and message on the job. Adapters translate
third-party exceptions into this tree with ``raise ... from exc``.
"""

from __future__ import annotations

from typing import ClassVar


class Vmp3Error(Exception):
    """Root of every error vmp3 raises on purpose."""

    code: ClassVar[str] = "internal"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


# --- the caller's request is wrong -------------------------------------------------
class BadRequest(Vmp3Error):
    code = "bad_request"
    http_status = 400


class Unauthorized(Vmp3Error):
    code = "unauthorized"
    http_status = 401


class NotFound(Vmp3Error):
    code = "not_found"
    http_status = 404


class Conflict(Vmp3Error):
    code = "conflict"
    http_status = 409


class SourceMissing(Conflict):
    code = "upload_missing"


class RateLimited(Vmp3Error):
    code = "rate_limited"
    http_status = 429


# --- the uploaded media cannot become an MP3 -----------------------------------------
class MediaError(Vmp3Error):
    """The input itself is the problem: retrying the same file cannot help."""

    http_status = 422


class NotMedia(MediaError):
    code = "not_media"


class UnsupportedFormat(MediaError):
    code = "unsupported_format"


class NoAudio(MediaError):
    code = "no_audio"


class UndecodableAudio(MediaError):
    code = "undecodable_audio"


class Truncated(MediaError):
    code = "truncated"


class TooLong(MediaError):
    code = "too_long"


class TooLarge(MediaError):
    code = "too_large"
    http_status = 413


class ConversionTimeout(MediaError):
    code = "timeout"


# --- something on our side failed ----------------------------------------------------
class ConversionFailed(Vmp3Error):
    """FFmpeg failed or wrote an output that did not validate, for no reason we can name."""

    code = "internal"


class Unavailable(Vmp3Error):
    """A backing service (broker, cache, store) cannot be reached: retry later."""

    code = "unavailable"
    http_status = 503


class ConfigError(Vmp3Error):
    code = "config"
