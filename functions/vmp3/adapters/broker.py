"""RabbitMQ (local, or Amazon MQ via amqps://): confirmed, persistent publishing and topology."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pika
import pika.exceptions

from vmp3.errors import Unavailable
from vmp3.topology import QueueTopology

# Heartbeats keep a dead peer from holding a job; the converter pumps them while FFmpeg runs.
HEARTBEAT_S = 30


def connection_parameters(url: str, name: str | None = None) -> pika.URLParameters:
    params = pika.URLParameters(url)
    if name:  # shown by rabbitmqctl list_connections, so operators can tell converters apart
        params.client_properties = {"connection_name": name}
    params.heartbeat = HEARTBEAT_S
    params.blocked_connection_timeout = 30
    params.connection_attempts = 3
    params.retry_delay = 1
    if url.startswith("amqps://"):
        params.ssl_options = pika.SSLOptions(ssl.create_default_context())
    return params


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (pika.exceptions.AMQPError, OSError) as exc:
        raise Unavailable("the job queue (RabbitMQ) cannot be reached") from exc


def declare(channel: Any, topology: QueueTopology) -> None:
    """Declare the queue, dead-letter exchange and dead-letter queue (idempotent)."""
    channel.exchange_declare(topology.dead_letter_exchange, exchange_type="direct", durable=True)
    channel.queue_declare(topology.dead_letter_queue, durable=True,
                          arguments=topology.dead_letter_arguments())
    channel.queue_bind(topology.dead_letter_queue, topology.dead_letter_exchange,
                       routing_key=topology.dead_letter_queue)
    channel.queue_declare(topology.queue, durable=True, arguments=topology.queue_arguments())


class Publisher:
    """Publishes a job once the broker has confirmed it is stored; one connection per call.

    A connection per publish costs a few milliseconds and survives broker restarts and
    Lambda freezes without any reconnect logic.
    """

    def __init__(self, url: str, topology: QueueTopology) -> None:
        self._params = connection_parameters(url)
        self._topology = topology

    def publish(self, message: dict[str, Any], message_id: str) -> None:
        self._send("", self._topology.queue, json.dumps(message).encode(), message_id)

    def dead_letter(self, body: bytes) -> None:
        """Park a message in the dead-letter queue (used where no broker reject can)."""
        self._send(self._topology.dead_letter_exchange, self._topology.dead_letter_queue, body,
                   None)

    def _send(self, exchange: str, routing_key: str, body: bytes, message_id: str | None) -> None:
        properties = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent,
                                          content_type="application/json", message_id=message_id)
        with _translated():
            connection = pika.BlockingConnection(self._params)
            try:
                channel = connection.channel()
                channel.confirm_delivery()
                declare(channel, self._topology)
                channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
            finally:
                if connection.is_open:
                    connection.close()

    def ping(self) -> bool:
        with _translated():
            connection = pika.BlockingConnection(self._params)
            connection.close()
        return True
