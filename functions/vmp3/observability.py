"""Structured logs through the Powertools Logger, with the job id on every line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers


@lru_cache(maxsize=4)
def get_logger(service: str, level: str = "INFO") -> Logger:
    """The Powertools Logger for ``service``; vmp3's stdlib loggers share its JSON format."""
    logger = Logger(service=service, level=level)
    copy_config_to_registered_loggers(source_logger=logger, include={"vmp3"})
    return logger


@contextmanager
def job_context(logger: Logger, job_id: str | None) -> Iterator[None]:
    """Every line logged inside carries ``job_id``."""
    if job_id is None:
        yield
        return
    logger.append_keys(job_id=job_id)
    try:
        yield
    finally:
        logger.remove_keys(["job_id"])
