"""Reaching (and, for LocalStack, starting) the real services the tests use."""

from __future__ import annotations

import os
from pathlib import Path

import pika

from vmp3.adapters.broker import connection_parameters, declare
from vmp3.local import stack
from vmp3.topology import QueueTopology

LOCALSTACK_URL = stack.LOCALSTACK_URL
TEST_REDIS_URL = os.environ.get("VMP3_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
AMQP_URL = os.environ.get("VMP3_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
STATE_DIR = Path(__file__).resolve().parents[2] / ".vmp3"


def _port_open(port: int) -> bool:
    return stack.port_open("127.0.0.1", port)


def redis_up() -> bool:
    return _port_open(6379)


def rabbitmq_up() -> bool:
    return _port_open(5672)


def ensure_localstack() -> bool:
    """LocalStack answering on 4566, started on the host if it was not (takes ~20 s)."""
    if stack.localstack_ready():
        return True
    if os.environ.get("VMP3_TEST_START_LOCALSTACK", "1") != "1":
        return False
    stack.start_localstack(STATE_DIR)
    return stack.localstack_ready()


def aws_test_credentials() -> None:
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ.setdefault(name, value)


def declare_topology(url: str, topology: QueueTopology) -> None:
    connection = pika.BlockingConnection(connection_parameters(url))
    try:
        declare(connection.channel(), topology)
    finally:
        connection.close()


def delete_topology(url: str, topology: QueueTopology) -> None:
    connection = pika.BlockingConnection(connection_parameters(url))
    try:
        channel = connection.channel()
        channel.queue_delete(topology.queue)
        channel.queue_delete(topology.dead_letter_queue)
        channel.exchange_delete(topology.dead_letter_exchange)
    finally:
        connection.close()


def queue_depth(url: str, queue: str) -> int:
    connection = pika.BlockingConnection(connection_parameters(url))
    try:
        declared = connection.channel().queue_declare(queue, passive=True)
        return int(declared.method.message_count)
    finally:
        connection.close()


REDIS_START = stack.REDIS_START


def wait_port_open(port: int, timeout_s: float = 30) -> None:
    stack.wait_until(lambda: _port_open(port), f"port {port}", timeout_s)


def wait_port_closed(port: int, timeout_s: float = 30) -> None:
    stack.wait_until(lambda: not _port_open(port), f"port {port} to close", timeout_s)
