"""The long-running converter (Fargate and local): one job at a time, manual ack.

FFmpeg runs in a worker thread while this thread keeps pika's connection alive
(heartbeats); the ack travels back through ``add_callback_threadsafe``.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

import pika
import pika.exceptions

from vmp3.adapters.broker import connection_parameters, declare
from vmp3.errors import Unavailable
from vmp3.observability import get_logger, job_context
from vmp3.services import conversion
from vmp3.services.context import ServiceContext

log = logging.getLogger(__name__)
RECONNECT_DELAY_S = 2.0
RETRY_DELAY_S = 2.0  # before handing back a job whose storage or cache was down
RETRY = "retry"


def previous_deliveries(properties: Any) -> int:
    """Deliveries of this message that ended without an ack (quorum queues count them)."""
    headers = getattr(properties, "headers", None) or {}
    count = headers.get("x-delivery-count", 0)
    return count if isinstance(count, int) else 0


class Consumer:
    def __init__(self, ctx: ServiceContext, grace_s: float = 60.0) -> None:
        self._ctx = ctx
        self._grace_s = grace_s
        self._stopping = threading.Event()
        self._busy = threading.Event()
        self._logger = get_logger("vmp3-converter", ctx.settings.log_level)
        self.processed = 0

    def stop(self, *_args: Any) -> None:
        """Stop taking work; the job in hand finishes (or is handed back after the grace)."""
        self._stopping.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self, max_jobs: int | None = None) -> None:
        while not self._stopping.is_set() and not self._enough(max_jobs):
            try:
                self._consume(max_jobs)
            except (pika.exceptions.AMQPError, OSError) as exc:
                log.warning("broker connection lost (%s); reconnecting", exc)
                self._stopping.wait(RECONNECT_DELAY_S)

    def _enough(self, max_jobs: int | None) -> bool:
        return max_jobs is not None and self.processed >= max_jobs

    def _consume(self, max_jobs: int | None) -> None:
        connection = pika.BlockingConnection(
            connection_parameters(self._ctx.amqp_url, f"vmp3-converter-{os.getpid()}"))
        try:
            channel = connection.channel()
            declare(channel, self._ctx.topology)
            channel.basic_qos(prefetch_count=1)
            tag = channel.basic_consume(self._ctx.topology.queue, self._on_message(connection))
            while not self._stopping.is_set() and not (self._enough(max_jobs)
                                                       and not self._busy.is_set()):
                connection.process_data_events(time_limit=0.5)
            channel.basic_cancel(tag)
            self._finish_current(connection)
        finally:
            if connection.is_open:
                connection.close()

    def _on_message(self, connection: pika.BlockingConnection) -> Any:
        def on_message(channel: Any, method: Any, properties: Any, body: bytes) -> None:
            self._busy.set()
            threading.Thread(target=self._work, daemon=True, args=(
                connection, channel, method.delivery_tag, body, previous_deliveries(properties),
            )).start()
        return on_message

    def _work(self, connection: Any, channel: Any, tag: int, body: bytes, earlier: int) -> None:
        outcome = self._outcome(body, earlier)
        try:
            connection.add_callback_threadsafe(lambda: self._settle(channel, tag, outcome))
        except pika.exceptions.AMQPError:
            # The broker dropped us mid-job (consumer timeout, restart): it has already
            # requeued the message, and the job's lease keeps the next taker from redoing it.
            log.warning("connection lost before the ack; the broker redelivers the job")
            self._busy.clear()

    def _settle(self, channel: Any, tag: int, outcome: str) -> None:
        if outcome == RETRY:
            channel.basic_nack(tag, requeue=True)
        elif outcome == conversion.Outcome.FAILED:
            channel.basic_reject(tag, requeue=False)  # to the dead-letter queue
        else:
            channel.basic_ack(tag)
        self.processed += 1
        self._busy.clear()

    def _outcome(self, body: bytes, earlier: int) -> str:
        message = conversion.parse_message(body)
        if message is None:
            return conversion.Outcome.FAILED
        with job_context(self._logger, message.job_id):
            try:
                return conversion.process(self._ctx, message, earlier)
            except Unavailable as exc:
                log.warning("job handed back: %s", exc.message)
            except Exception:
                log.exception("unexpected converter error; job handed back")
            time.sleep(RETRY_DELAY_S)
            return RETRY

    def _finish_current(self, connection: pika.BlockingConnection) -> None:
        """Let the job in hand settle within the grace period; otherwise it is redelivered."""
        deadline = time.monotonic() + self._grace_s
        while self._busy.is_set() and time.monotonic() < deadline:
            connection.process_data_events(time_limit=0.5)
