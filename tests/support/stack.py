"""A whole local stack inside the test session: gateway on a free port, converter processes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from vmp3.local.gateway import LocalGateway, UsagePlan, function_handlers
from vmp3.local.stack import free_port
from vmp3.services.context import ServiceContext


@dataclass(frozen=True)
class RunningStack:
    api_url: str
    keys: dict[str, str]  # key value -> owner
    converters: list[subprocess.Popen[bytes]]


def random_keys(*owners: str) -> dict[str, str]:
    """A fresh API key for each owner: key value -> owner."""
    return {f"key-{uuid.uuid4().hex}": owner for owner in owners}


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def worker_env(ctx: ServiceContext) -> dict[str, str]:
    s = ctx.settings
    return {**os.environ, "VMP3_S3_ENDPOINT_URL": s.s3_endpoint_url or "",
            "VMP3_BUCKET": s.bucket, "VMP3_QUEUE_NAME": s.queue_name,
            "VMP3_REDIS_URL": s.redis_url, "VMP3_AMQP_URL": s.amqp_url,
            "VMP3_WORK_DIR": str(s.work_dir), "VMP3_MAX_DURATION_S": str(s.max_duration_s),
            "VMP3_CONVERSION_TIMEOUT_S": str(s.conversion_timeout_s)}


def start_converter(ctx: ServiceContext,
                    extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "vmp3", "worker"],
                            env={**worker_env(ctx), **(extra_env or {})},
                            start_new_session=True, stdout=subprocess.DEVNULL)


@contextmanager
def running_stack(ctx: ServiceContext, keys: dict[str, str], converters: int = 2,
                  plan: UsagePlan | None = None) -> Iterator[RunningStack]:
    port = free_port()
    app = LocalGateway(keys, function_handlers(ctx), plan or UsagePlan(1000, 2000)).app()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    workers = [start_converter(ctx) for _ in range(converters)]
    try:
        yield RunningStack(f"http://127.0.0.1:{port}", keys, workers)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
        server.should_exit = True
        thread.join(timeout=10)
