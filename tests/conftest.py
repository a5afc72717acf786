"""Shared fixtures: real services, per-session isolation, and the CI rule on skips.

A test that needs a server skips when it is absent on a developer's machine; under CI
(CI=true) the same absence fails, and any skipped test fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import figures as figures_mod
from tests.support import services
from tests.support.media import MEDIA_DIR
from vmp3.services.context import ServiceContext
from vmp3.settings import Settings

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if IN_CI and skipped:
        terminalreporter.write_line(f"CI: {len(skipped)} test(s) skipped; a skip fails CI",
                                    red=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if IN_CI and skipped and exitstatus == 0:
        session.exitstatus = 1


def require(available: bool, what: str) -> None:
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is not available under CI")
    pytest.skip(f"{what} is not available")


@pytest.fixture(scope="session")
def media_dir() -> Path:
    require(MEDIA_DIR.is_dir(), f"the media corpus at {MEDIA_DIR}")
    return MEDIA_DIR


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    require(services.ensure_localstack(), "LocalStack S3")
    return services.LOCALSTACK_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    require(services.redis_up(), "Redis on 127.0.0.1:6379")
    return services.TEST_REDIS_URL


@pytest.fixture(scope="session")
def amqp_url() -> str:
    require(services.rabbitmq_up(), "RabbitMQ on 127.0.0.1:5672")
    return services.AMQP_URL


@pytest.fixture(scope="session")
def session_tag() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def settings(s3_endpoint: str, redis_url: str, amqp_url: str, session_tag: str,
             tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for a private bucket and queue, so test runs never meet each other."""
    services.aws_test_credentials()
    return Settings(stage="local", s3_endpoint_url=s3_endpoint, redis_url=redis_url,
                    amqp_url=amqp_url, bucket=f"vmp3-test-{session_tag}",
                    queue_name=f"vmp3.test.{session_tag}", max_upload_bytes=50 * 1024**2,
                    max_duration_s=600, conversion_timeout_s=120,
                    work_dir=tmp_path_factory.mktemp("work"))


@pytest.fixture(scope="session")
def ctx(settings: Settings) -> Iterator[ServiceContext]:
    context = ServiceContext(settings)
    context.objects.ensure_bucket()
    services.declare_topology(settings.amqp_url, context.topology)
    yield context
    services.delete_topology(settings.amqp_url, context.topology)


@pytest.fixture
def fresh_ctx(settings: Settings) -> Iterator[ServiceContext]:
    """A context with its own queue, for tests that count messages."""
    context = ServiceContext(settings.model_copy(
        update={"queue_name": f"{settings.queue_name}.{uuid.uuid4().hex[:8]}"}))
    context.objects.ensure_bucket()
    services.declare_topology(settings.amqp_url, context.topology)
    yield context
    services.delete_topology(settings.amqp_url, context.topology)


@pytest.fixture(scope="session")
def figures() -> Iterator[figures_mod.FigureBook]:
    """Figures the security and reliability tests report, collected for docs/reliability.md."""
    book = figures_mod.FigureBook()
    yield book
    book.save(figures_mod.figures_path())
