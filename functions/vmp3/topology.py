"""The RabbitMQ topology, defined once for the code, the local emulation and the CDK stack."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class QueueTopology:
    queue: str = "vmp3.convert"
    dead_letter_exchange: str = "vmp3.dlx"
    dead_letter_queue: str = "vmp3.convert.dead"
    # A job that kills its consumer this many times goes to the dead-letter queue.
    delivery_limit: int = 3
    extra_arguments: dict[str, Any] = field(default_factory=dict)

    def queue_arguments(self) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": self.delivery_limit,
            "x-dead-letter-exchange": self.dead_letter_exchange,
            "x-dead-letter-routing-key": self.dead_letter_queue,
            **self.extra_arguments,
        }

    def dead_letter_arguments(self) -> dict[str, Any]:
        return {"x-queue-type": "quorum"}

    def as_definitions(self, vhost: str = "/") -> dict[str, Any]:
        """RabbitMQ definitions JSON, as Amazon MQ and ``rabbitmqctl import_definitions`` take."""
        return {
            "exchanges": [
                {"name": self.dead_letter_exchange, "vhost": vhost, "type": "direct",
                 "durable": True, "auto_delete": False, "internal": False, "arguments": {}},
            ],
            "queues": [
                {"name": self.queue, "vhost": vhost, "durable": True, "auto_delete": False,
                 "arguments": self.queue_arguments()},
                {"name": self.dead_letter_queue, "vhost": vhost, "durable": True,
                 "auto_delete": False, "arguments": self.dead_letter_arguments()},
            ],
            "bindings": [
                {"source": self.dead_letter_exchange, "vhost": vhost,
                 "destination": self.dead_letter_queue, "destination_type": "queue",
                 "routing_key": self.dead_letter_queue, "arguments": {}},
            ],
        }


def topology_for(queue_name: str) -> QueueTopology:
    return QueueTopology(
        queue=queue_name,
        dead_letter_exchange=f"{queue_name}.dlx",
        dead_letter_queue=f"{queue_name}.dead",
    )
