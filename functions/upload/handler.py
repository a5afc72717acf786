"""Lambda entry point of the upload function; the logic lives in the shared vmp3 package."""

from vmp3.lambdas import upload_handler as handler

__all__ = ["handler"]
