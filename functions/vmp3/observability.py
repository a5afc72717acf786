"""Powertools logs (the job id on every line) and metrics (jobs and conversion seconds)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit, single_metric

DEFAULT_NAMESPACE = "vmp3-local"


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


def emit_metric(name: str, value: float, unit: MetricUnit, service: str) -> None:
    """One CloudWatch metric in Embedded Metric Format (a JSON line on stdout).

    The stack's alarms read namespace ``vmp3-<stage>`` and the ``service`` dimension.
    """
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_NAMESPACE)
    dimensions = {"service": os.environ.get("POWERTOOLS_SERVICE_NAME", service)}
    with single_metric(name=name, unit=unit, value=value, namespace=namespace,
                       default_dimensions=dimensions):
        pass


def jobs_submitted() -> None:
    emit_metric("JobsSubmitted", 1, MetricUnit.Count, "upload")


def job_finished(ok: bool, seconds: float | None = None) -> None:
    emit_metric("JobsDone" if ok else "JobsFailed", 1, MetricUnit.Count, "converter")
    if ok and seconds is not None:
        emit_metric("ConversionSeconds", seconds, MetricUnit.Seconds, "converter")
