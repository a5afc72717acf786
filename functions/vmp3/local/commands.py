"""The local stack's lifecycle: up (idempotent), down and status."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pika

from vmp3.adapters.broker import connection_parameters, declare
from vmp3.errors import Unavailable
from vmp3.local import stack
from vmp3.local.stack import StackState
from vmp3.services.context import ServiceContext
from vmp3.settings import Settings

DEFAULT_PORT = 8080


def _vmp3(*args: str) -> list[str]:
    return [sys.executable, "-m", "vmp3", *args]


def _alive(state: StackState, name: str) -> bool:
    pid = state.pids.get(name)
    return pid is not None and stack.pid_alive(pid)


def up(converters: int = 1, port: int | None = None) -> StackState:
    """Start what is not running; ``port`` None means 8080, or a free port if 8080 is taken."""
    state_path = stack.state_dir()
    state = StackState.load(state_path)
    port = _gateway_port(state, port)
    stack.ensure_service("Redis", 6379, stack.REDIS_START)
    stack.ensure_service("RabbitMQ", 5672, stack.RABBITMQ_START)
    localstack_pid = stack.start_localstack(state_path)
    if localstack_pid is not None:
        state.pids["localstack"] = localstack_pid
    env = stack.local_env(state_path)
    os.environ.update(env)  # this process provisions the bucket and queues below
    _provision(Settings())
    state.api_key = state.api_key or stack.new_api_key()
    state.api_url = f"http://127.0.0.1:{port}"
    state.save(state_path)
    _start_gateway(state, state_path, env, port)
    _start_converters(state, state_path, env, converters)
    state.save(state_path)
    return state


def _gateway_port(state: StackState, wanted: int | None) -> int:
    if _alive(state, "gateway") and state.api_url:
        return int(state.api_url.rsplit(":", 1)[1])
    port = DEFAULT_PORT if wanted is None else wanted
    if not stack.port_open("127.0.0.1", port):
        return port
    if wanted is not None:
        raise Unavailable(f"port {port} is taken by another program; choose another --port")
    return stack.free_port()


def _provision(settings: Settings) -> None:
    ctx = ServiceContext(settings)
    ctx.objects.ensure_bucket()
    connection = pika.BlockingConnection(connection_parameters(settings.amqp_url))
    try:
        declare(connection.channel(), ctx.topology)
    finally:
        connection.close()


def _start_gateway(state: StackState, state_path: Path, env: dict[str, str], port: int) -> None:
    if _alive(state, "gateway"):
        return
    state.pids["gateway"] = stack.spawn(
        _vmp3("local", "serve-gateway", "--port", str(port)), state_path / "gateway.log", env)
    stack.wait_until(lambda: stack.port_open("127.0.0.1", port), "the local gateway", 60)


def _start_converters(state: StackState, state_path: Path, env: dict[str, str],
                      count: int) -> None:
    for index in range(1, count + 1):
        name = f"converter-{index}"
        if not _alive(state, name):
            state.pids[name] = stack.spawn(_vmp3("worker"), state_path / f"{name}.log", env)


def down() -> StackState:
    state_path = stack.state_dir()
    state = StackState.load(state_path)
    for name in sorted(state.pids, key=lambda n: n == "localstack"):  # LocalStack last
        stack.stop_pid(state.pids[name])
    state.pids.clear()
    state.save(state_path)
    return state


def status() -> dict[str, str]:
    state = StackState.load(stack.state_dir())
    report = {name: ("running" if stack.pid_alive(pid) else "stopped")
              for name, pid in sorted(state.pids.items())}
    report["localstack-s3"] = "ready" if stack.localstack_ready() else "down"
    report["redis"] = "up" if stack.port_open("127.0.0.1", 6379) else "down"
    report["rabbitmq"] = "up" if stack.port_open("127.0.0.1", 5672) else "down"
    return report
