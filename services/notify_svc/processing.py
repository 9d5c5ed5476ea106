"""What notify_svc does with one consumed record: decode, notify, publish or dead-letter it.

Independent of faust, so the whole failure policy is testable with fakes. `RecordProcessor.process`
returns only when the record is settled (notified, ignored or dead-lettered); a transient failure
(Redis or the broker away) is retried in place with capped backoff, never skipped, never raised —
faust acks a message whose agent raised, so an escaping error would lose it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]
from redis import exceptions as redis_errors

from schemas import CONTENT_TYPE_HEADER, Envelope, MessageInvalid, decode, encode, kafka_key
from schemas import topics as contract_topics
from schemas.tracing import trace_id, traceparent_of
from services.common.logging import bind_message_context
from services.common.runtime import metrics
from services.common.runtime.dlq import DeadLetter
from services.common.runtime.retry import backoff
from services.notify_svc.handling import Handled, Ports, handle_source_event, notification_event
from services.notify_svc.model import Notification, SourceEvent
from services.notify_svc.rules import Malformed

log = structlog.get_logger(__name__)

SERVICE = "notify"

# Failures that pass if we wait: the server is away or busy, not the message wrong.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    # Any Redis error: it is infrastructure (down, loading, out of memory, read-only replica),
    # never a property of the message; a NOSCRIPT after a restart is reloaded by redis-py itself.
    redis_errors.RedisError,
    KafkaError,
    OSError,  # includes the builtin TimeoutError (= asyncio.TimeoutError)
)

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class Record:
    """One consumed Kafka record, as raw bytes: the agent decodes nothing itself."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None
    headers: Headers = ()


class Sink(Protocol):
    """Produces one record and returns once the broker acknowledged it."""

    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Notified:
    """The record was a fact: `notifications` published (0 for facts nobody needs to see)."""

    notifications: int
    newly_stored: int


@dataclass(frozen=True, slots=True)
class DeadLettered:
    error: str
    detail: str
    dlq_topic: str


Outcome = Notified | DeadLettered


class Interrupted(Exception):
    """The process is stopping while the record is still unsettled: leave it unacked, so it is
    redelivered after the restart (its offset is never committed)."""


class RecordProcessor:
    """Settles records one at a time; safe to repeat (feeds and `notifications` dedupe by id)."""

    def __init__(
        self,
        ports: Ports,
        sink: Sink,
        *,
        delays: Callable[[], Iterator[float]] = backoff,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self._ports = ports
        self._sink = sink
        self._delays = delays
        self._sleep = sleep
        self._stopping = stopping

    async def process(self, record: Record) -> Outcome:
        """Settle `record`, retrying transient failures until they pass.

        Raises `Interrupted` when the process stops during the retries (and CancelledError when
        cancelled): either way the record stays unsettled and must not be acked.
        """
        delays = self._delays()
        attempt = 1
        while True:
            try:
                return await self._attempt(record)
            except TRANSIENT_ERRORS as exc:
                delay = next(delays)
                metrics.TRANSIENT.labels(SERVICE, type(exc).__name__).inc()
                log.warning(
                    "notify.transient",
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    attempt=attempt,
                    error=f"{type(exc).__name__}: {exc}",
                    retry_in=round(delay, 2),
                )
                if self._stopping():
                    raise Interrupted(record.topic, record.partition, record.offset) from exc
                await self._sleep(delay)
                if self._stopping():
                    raise Interrupted(record.topic, record.partition, record.offset) from exc
                attempt += 1

    async def _attempt(self, record: Record) -> Outcome:
        metrics.CONSUMED.labels(SERVICE, record.topic).inc()
        # Every log line about this record carries its own coordinates, never the ids of the
        # record before it (which a poison record's lines would otherwise inherit).
        bind_message_context(topic=record.topic, partition=record.partition, offset=record.offset)
        try:
            envelope = decode(record.value, record.headers)
        except MessageInvalid as exc:
            return await self._dead_letter(record, exc.reason, str(exc))
        bind_message_context(
            message_id=envelope.id,
            correlation_id=envelope.correlationid or envelope.id,
            trace_id=trace_id(traceparent_of(envelope)),
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )

        async def publish(notification: Notification) -> None:
            await self._publish(notification, envelope)

        try:
            result = await handle_source_event(
                SourceEvent.from_envelope(envelope), ports=self._ports, publish=publish
            )
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:  # logged and dead-lettered, never swallowed
            # Data our code cannot take (e.g. a recipient the notification schema refuses): park it
            # with the cause rather than block the partition behind it forever.
            log.exception("notify.handler_failed", error=str(exc))
            return await self._dead_letter(record, "handler_error", f"{type(exc).__name__}: {exc}")
        if isinstance(result, Malformed):
            return await self._dead_letter(record, "malformed", result.reason)
        return self._notified(envelope, result)

    def _notified(self, envelope: Envelope, result: Handled) -> Notified:
        metrics.APPLIED.labels(SERVICE, envelope.type).inc()
        if result.notifications:
            log.info(
                "notify.notified",
                type=envelope.type,
                notifications=len(result.notifications),
                new=result.newly_stored,
            )
        return Notified(len(result.notifications), result.newly_stored)

    async def _publish(self, notification: Notification, cause: Envelope) -> None:
        event = notification_event(notification, cause=cause)
        await self._sink.send(
            contract_topics.NOTIFICATIONS, kafka_key(event), encode(event), [CONTENT_TYPE_HEADER]
        )

    async def _dead_letter(self, record: Record, error: str, detail: str) -> DeadLettered:
        letter = DeadLetter.of(record, error=error, detail=detail, service=SERVICE)
        await self._sink.send(
            letter.dlq_topic, letter.key, letter.dlq_value(), letter.dlq_headers()
        )
        metrics.DEAD_LETTERED.labels(SERVICE, error).inc()
        log.warning(
            "notify.dead_lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=error,
            detail=detail[:500],
        )
        return DeadLettered(error, detail, letter.dlq_topic)
