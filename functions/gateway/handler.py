"""Lambda entry point of the gateway function; the logic lives in the shared vmp3 package."""

from vmp3.lambdas import gateway_handler as handler

__all__ = ["handler"]
