"""Lambda entry point of the converter function; the logic lives in the shared vmp3 package."""

from vmp3.lambdas import converter_handler as handler

__all__ = ["handler"]
