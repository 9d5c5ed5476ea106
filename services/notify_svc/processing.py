"""What notify_svc does with a batch of consumed records: decode, notify, publish or dead-letter.

Independent of faust, so the whole failure policy is testable with fakes. `BatchProcessor.process`
returns only when every record of the batch is settled (notified, ignored or dead-lettered); a
transient failure (Redis or the broker away, `runtime.retry.is_transient`) is retried in place,
the whole batch, with capped backoff, never skipped, never raised — faust acks a message whose
agent raised, so an escaping error would lose it. Any other failure halves the batch until the
record at fault stands alone, and that record is dead-lettered with the cause (README.md,
"notify_svc").

One attempt at a batch: decode every record (once), derive every notification (`handling`: a
pipeline for the join state, one for the locales), build every message to produce, write every
notification to its feed (one pipeline), then produce the notifications and the dead letters
together and await all their acknowledgements at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from schemas import CONTENT_TYPE_HEADER, Envelope, MessageInvalid, decode
from schemas import topics as contract_topics
from schemas.tracing import trace_id, traceparent_of
from services.common import otel
from services.common.logging import bind_message_context
from services.common.runtime import metrics
from services.common.runtime.dlq import DeadLetter
from services.common.runtime.records import Record
from services.common.runtime.retry import backoff, is_transient
from services.notify_svc.handling import (
    Derived,
    Ports,
    derive_all,
    notification_message,
    store_all,
)
from services.notify_svc.model import Notification, SourceEvent
from services.notify_svc.rules import Malformed

log = structlog.get_logger(__name__)

SERVICE = "notify"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record to produce."""

    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


class Sink(Protocol):
    """Produces a batch of records and returns once the broker acknowledged every one."""

    async def send_all(self, records: Sequence[Outgoing]) -> None: ...


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
    """The process is stopping while the batch is still unsettled: leave it unacked, so it is
    redelivered after the restart (its offsets are never committed)."""


@dataclass(frozen=True, slots=True)
class _Invalid:
    """A record that is not a message of the contract: why."""

    error: str
    detail: str


Decoded = Envelope | _Invalid


def _decoded(record: Record) -> Decoded:
    try:
        return decode(record.value, record.headers)
    except MessageInvalid as exc:
        return _Invalid(exc.reason, str(exc))


def _letter(record: Record, error: str, detail: str) -> tuple[Outgoing, DeadLettered]:
    letter = DeadLetter.for_record(record, error=error, detail=detail, service=SERVICE)
    out = Outgoing(letter.dlq_topic, letter.key, letter.dlq_value(), tuple(letter.dlq_headers()))
    return out, DeadLettered(error, detail, letter.dlq_topic)


def _notification_record(notification: Notification, cause: Envelope) -> Outgoing:
    key, value = notification_message(notification, cause=cause)
    return Outgoing(contract_topics.NOTIFICATIONS, key, value, (CONTENT_TYPE_HEADER,))


def _trace_fields(item: Decoded) -> dict[str, str | None]:
    """The ids a log line about one decoded record carries (its message and W3C trace id)."""
    if not isinstance(item, Envelope):
        return {}
    return {
        "message_id": item.id,
        "correlation_id": item.correlationid or item.id,
        "trace_id": trace_id(traceparent_of(item)),
    }


def _notified(
    decoded: Sequence[Decoded], outcomes: Sequence[Outcome]
) -> Iterator[tuple[Envelope, str]]:
    """The events of a settled batch that were turned into notifications (for their spans)."""
    for item, outcome in zip(decoded, outcomes, strict=True):
        if isinstance(item, Envelope) and isinstance(outcome, Notified):
            yield item, "notified"


def _log_batch(records: Sequence[Record], outcomes: Sequence[Outcome]) -> None:
    """One line per settled batch (a line per record would cost more than the record)."""
    notified = [o for o in outcomes if isinstance(o, Notified)]
    first = records[0]
    bind_message_context(topic=first.topic)
    log.info(
        "notify.batch",
        topic=first.topic,
        records=len(records),
        partitions=sorted({r.partition for r in records}),
        notifications=sum(o.notifications for o in notified),
        new=sum(o.newly_stored for o in notified),
        dead_lettered=len(outcomes) - len(notified),
    )


class BatchProcessor:
    """Settles batches of records; safe to repeat (feeds and `notifications` dedupe by id)."""

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

    async def process(self, records: Sequence[Record]) -> list[Outcome]:
        """Settle `records` (in the order given), retrying transient failures until they pass;
        one outcome per record.

        Raises `Interrupted` when the process stops during the retries (and CancelledError when
        cancelled): either way the batch stays unsettled and must not be acked.
        """
        for topic, count in Counter(record.topic for record in records).items():
            metrics.CONSUMED.labels(SERVICE, topic).inc(count)
        decoded = [_decoded(record) for record in records]
        delays = self._delays()
        attempt = 1
        started_ns = time.time_ns()
        while True:
            try:
                outcomes = await self._settle(records, decoded)
                otel.handled(SERVICE, _notified(decoded, outcomes), started_ns)
                return outcomes
            except Exception as exc:
                if not is_transient(exc):
                    raise
                delay = next(delays)
                metrics.TRANSIENT.labels(SERVICE, type(exc).__name__).inc()
                first = records[0]
                log.warning(
                    "notify.transient",
                    topic=first.topic,
                    partition=first.partition,
                    offset=first.offset,
                    records=len(records),
                    attempt=attempt,
                    error=f"{type(exc).__name__}: {exc}",
                    retry_in=round(delay, 2),
                )
                if self._stopping():
                    raise Interrupted(first.topic, first.partition, first.offset) from exc
                await self._sleep(delay)
                if self._stopping():
                    raise Interrupted(first.topic, first.partition, first.offset) from exc
                attempt += 1

    async def _settle(self, records: Sequence[Record], decoded: Sequence[Decoded]) -> list[Outcome]:
        """One attempt; a failure that is not transient halves the batch until it stands alone
        and dead-letters the record at fault (the rest settle as usual)."""
        try:
            return await self._attempt(records, decoded)
        except Exception as exc:
            if is_transient(exc):
                raise
            if len(records) > 1:
                half = len(records) // 2
                head = await self._settle(records[:half], decoded[:half])
                return head + await self._settle(records[half:], decoded[half:])
            (record,) = records
            (item,) = decoded
            bind_message_context(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                **_trace_fields(item),
            )
            # Data our code cannot take (e.g. a recipient the notification schema refuses): park
            # it with the cause rather than block the partition behind it forever.
            log.exception("notify.handler_failed", error=str(exc))
            out, outcome = _letter(record, "handler_error", f"{type(exc).__name__}: {exc}")
            await self._sink.send_all([out])
            self._dead_lettered(record, outcome)
            return [outcome]

    async def _attempt(
        self, records: Sequence[Record], decoded: Sequence[Decoded]
    ) -> list[Outcome]:
        facts = [(i, env) for i, env in enumerate(decoded) if isinstance(env, Envelope)]
        derived = await derive_all(
            [SourceEvent.from_envelope(env) for _, env in facts], self._ports
        )
        made: dict[int, Derived] = dict(zip((i for i, _ in facts), derived, strict=True))
        outgoing: list[Outgoing] = []
        letters: dict[int, DeadLettered] = {}
        for i, item in enumerate(decoded):
            if isinstance(item, _Invalid):
                why = (item.error, item.detail)
            elif isinstance(result := made[i], Malformed):
                why = ("malformed", result.reason)
            else:
                # Each record's own, even a duplicate's: it is the same message byte for byte.
                outgoing += [_notification_record(n, item) for n in result]
                continue
            out, letters[i] = _letter(records[i], *why)
            outgoing.append(out)
        newly_stored = dict(zip(made, await store_all(derived, self._ports), strict=True))
        await self._sink.send_all(outgoing)
        outcomes: list[Outcome] = []
        applied: Counter[str] = Counter()
        for i, record in enumerate(records):
            if i in letters:
                self._dead_lettered(record, letters[i])
                outcomes.append(letters[i])
                continue
            result, item = made[i], decoded[i]
            assert not isinstance(result, Malformed) and isinstance(item, Envelope)
            applied[item.type] += 1
            outcomes.append(Notified(len(result), newly_stored[i]))
        for message_type, count in applied.items():
            metrics.APPLIED.labels(SERVICE, message_type).inc(count)
        _log_batch(records, outcomes)
        return outcomes

    def _dead_lettered(self, record: Record, outcome: DeadLettered) -> None:
        metrics.DEAD_LETTERED.labels(SERVICE, outcome.error).inc()
        bind_message_context(topic=record.topic, partition=record.partition, offset=record.offset)
        log.warning(
            "notify.dead_lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=outcome.error,
            detail=outcome.detail[:500],
        )
