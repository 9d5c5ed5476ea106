"""The batch consumer: poll → decode → apply with inbox and outbox in one transaction → commit.

Contract:
- A batch's effects, inbox rows and outbox rows commit in ONE Postgres transaction; the offsets
  are committed only after it. A crash anywhere loses nothing (the batch is redelivered) and
  applies nothing twice (the inbox remembers every message id).
- A message that can never be applied (undecodable, unknown type, a handler bug) is recorded in
  the inbox and copied to ``<topic>.dlq`` through the outbox, in the same transaction.
- A transient failure (Postgres away) pauses the partitions and retries the whole batch with
  backoff; the offset never moves past an effect that did not commit.
- Knows nothing of payments or pickups: it calls ``handlers[type]``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from psycopg_pool import ConnectionPool

from schemas import Envelope, MessageInvalid, decode, derive_id, make_event
from schemas.registry import TOPIC_TYPES
from services.common.logging import bind_message_context
from services.common.runtime import metrics
from services.common.runtime.dlq import DeadLetter
from services.common.runtime.handling import (
    Accepted,
    Handler,
    HandlerContext,
    Rejected,
    cause_key,
)
from services.common.runtime.retry import backoff, is_transient
from services.common.runtime.store import Claim, InboxKey, OutboxRow, Store, content_hash

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Record:
    """A polled Kafka record with the fields the runtime uses, typed."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int | None

    @classmethod
    def of(cls, msg: Message) -> Record:
        topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
        assert topic is not None and partition is not None and offset is not None
        raw_headers = msg.headers() or []
        pairs = raw_headers.items() if isinstance(raw_headers, dict) else raw_headers
        headers = tuple((k, v.encode() if isinstance(v, str) else (v or b"")) for k, v in pairs)
        ts_type, ts = msg.timestamp()
        value, key = msg.value(), msg.key()
        return cls(
            topic,
            partition,
            offset,
            key.encode() if isinstance(key, str) else key,
            value.encode() if isinstance(value, str) else value,
            headers,
            ts if ts_type else None,
        )


@dataclass
class ConsumerConfig:
    service: str
    consumer_name: str
    source: str
    topics: list[str]
    rejections_topic: str
    handlers: Mapping[str, Handler]
    batch_size: int = 200
    batch_timeout_s: float = 0.2
    extras: Mapping[str, Any] = field(default_factory=dict)


class BatchConsumer:
    """Runs the loop until ``stop`` is set; finishes and commits the batch in hand first."""

    def __init__(
        self,
        config: ConsumerConfig,
        consumer: Consumer,
        pool: ConnectionPool[psycopg.Connection[Any]],
        store: Store,
        clock: Callable[[], datetime],
        stop: threading.Event,
    ) -> None:
        self.config = config
        self.consumer = consumer
        self.pool = pool
        self.store = store
        self.clock = clock
        self.stop = stop
        self._revoked: set[tuple[str, int]] = set()

    # --- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        self.consumer.subscribe(
            self.config.topics, on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        try:
            while not self.stop.is_set():
                batch = self.consumer.consume(
                    num_messages=self.config.batch_size, timeout=self.config.batch_timeout_s
                )
                records = [Record.of(m) for m in batch if self._usable(m)]
                if records:
                    self._process(records)
        finally:
            self.consumer.close()  # leaves the group at once, so a rebalance need not time out

    def _usable(self, msg: Message) -> bool:
        err = msg.error()
        if err is None:
            return True
        if err.code() == KafkaError._PARTITION_EOF:
            return False
        if err.fatal():
            raise KafkaException(err)
        log.warning("consumer.kafka_error", error=str(err))
        return False

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("consumer.assigned", partitions=[(p.topic, p.partition) for p in partitions])

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Whatever is in hand for these partitions is dropped: the next owner gets it from the
        # last committed offset, and the inbox turns any overlap into a duplicate.
        self._revoked.update((p.topic, p.partition) for p in partitions)
        log.info("consumer.revoked", partitions=[(p.topic, p.partition) for p in partitions])

    # --- one batch --------------------------------------------------------------------------

    def _process(self, records: list[Record]) -> None:
        self._revoked.clear()
        started = time.monotonic()
        delays = backoff()
        while True:
            records = [r for r in records if (r.topic, r.partition) not in self._revoked]
            if not records:
                return
            try:
                self._apply(records)
                break
            except Exception as exc:
                if not is_transient(exc):
                    raise
                metrics.TRANSIENT.labels(self.config.service, "apply").inc()
                delay = next(delays)
                log.warning("consumer.transient", error=str(exc), retry_in=round(delay, 2))
                self._wait_paused(delay)
                if self.stop.is_set():
                    return  # nothing committed: the batch is redelivered after restart
        self._commit_offsets(records)
        metrics.BATCH_SECONDS.labels(self.config.service).observe(time.monotonic() - started)

    def _apply(self, records: list[Record]) -> None:
        with self.pool.connection() as conn, conn.transaction():
            now = self.clock()
            for record in records:
                metrics.CONSUMED.labels(self.config.service, record.topic).inc()
                self._apply_one(conn, record, now)

    def _apply_one(self, conn: psycopg.Connection[Any], record: Record, now: datetime) -> None:
        try:
            env = decode(record.value, record.headers)
        except MessageInvalid as exc:
            self._dead_letter(conn, record, exc.reason, str(exc))
            return
        bind_message_context(
            message_id=env.id,
            type=env.type,
            tenant=env.tenantid,
            correlation_id=env.correlationid or env.id,
        )
        allowed = TOPIC_TYPES.get(record.topic)
        if allowed is not None and env.type not in allowed:
            # Topic ACLs are the authority on who may send what: a type that does not belong on
            # this topic (an admin command on the seller's topic) is refused, never applied.
            self._dead_letter(
                conn,
                record,
                "misrouted",
                f'"{env.type}" messages are not accepted on {record.topic}',
            )
            return
        handler = self.config.handlers.get(env.type)
        if handler is None:
            self._dead_letter(
                conn,
                record,
                "unknown_type",
                f'{self.config.service} does not handle messages of type "{env.type}" '
                f"on {record.topic}",
            )
            return
        key = InboxKey(self.config.consumer_name, env.tenantid, env.source, env.id)
        digest = content_hash(env)
        try:
            with conn.transaction():  # a savepoint: a handler bug rolls back only this message
                claim = self.store.claim(
                    conn,
                    key,
                    content_hash=digest,
                    message_type=env.type,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                )
                if not claim.new:
                    self._redelivered(conn, env, claim, digest)
                    return
                ctx = HandlerContext(conn, env, now, self.config.source, self.config.extras)
                outcome = handler(env, ctx)
                if isinstance(outcome, Rejected):
                    self._reject(conn, ctx, outcome)
                    self.store.settle(conn, key, f"rejected:{outcome.code}")
                    return
                self._emit(conn, outcome)
                self.store.settle(conn, key, "applied")
                metrics.APPLIED.labels(self.config.service, env.type).inc()
        except Exception as exc:
            if is_transient(exc):
                raise
            # Not the server, not the message's form: a handler or data bug. Park the message
            # where an operator sees it, with the cause, rather than stop every tenant's work.
            log.exception("consumer.handler_failed", error=str(exc))
            self._dead_letter(conn, record, "handler_error", f"{type(exc).__name__}: {exc}")

    def _redelivered(
        self, conn: psycopg.Connection[Any], env: Envelope, claim: Claim, digest: str
    ) -> None:
        if claim.existing_hash == digest:
            metrics.DUPLICATES.labels(self.config.service).inc()
            log.debug("consumer.duplicate", outcome=claim.existing_outcome)
            return
        ctx = HandlerContext(conn, env, self.clock(), self.config.source, self.config.extras)
        self._reject(
            conn,
            ctx,
            Rejected(
                "conflict",
                f'message id "{env.id}" was already used for a different '
                f"{env.type} command; use a new id for a new command",
            ),
            purpose=f"conflict/{digest}",
        )

    def _reject(
        self,
        conn: psycopg.Connection[Any],
        ctx: HandlerContext,
        rejected: Rejected,
        purpose: str = "rejected",
    ) -> None:
        env = ctx.message
        event = make_event(
            "command.rejected",
            {
                "command_id": env.id,
                "command_type": env.type,
                "code": rejected.code,
                "message": rejected.message,
            },
            id=derive_id(cause_key(env), purpose),
            source=ctx.source,
            time=ctx.now,
            tenantid=env.tenantid,
            subject=env.subject,
            cause=env,
        )
        self.store.add_outbox(conn, [OutboxRow.of(self.config.rejections_topic, event)])
        metrics.REJECTED.labels(self.config.service, rejected.code).inc()
        log.info("consumer.rejected", code=rejected.code, reason=rejected.message)

    def _emit(self, conn: psycopg.Connection[Any], outcome: Accepted) -> None:
        self.store.add_outbox(conn, [OutboxRow.of(o.topic, o.envelope) for o in outcome.messages])

    def _dead_letter(
        self, conn: psycopg.Connection[Any], record: Record, error: str, detail: str
    ) -> None:
        letter = DeadLetter.of(record, error=error, detail=detail, service=self.config.service)
        # The empty tenant is reserved: no decoded message can claim a dead letter's key.
        key = InboxKey(self.config.consumer_name, "", "kafka", letter.event_id)
        claim = self.store.claim(
            conn,
            key,
            content_hash="-",
            message_type="-",
            topic=letter.topic,
            partition=letter.partition,
            offset=letter.offset,
        )
        if not claim.new:
            return
        self.store.settle(conn, key, f"dead_lettered:{error}")
        self.store.add_outbox(
            conn,
            [
                OutboxRow(
                    letter.dlq_topic,
                    letter.event_id,
                    letter.key or b"",
                    letter.dlq_value(),
                    tuple(letter.dlq_headers()),
                )
            ],
        )
        metrics.DEAD_LETTERED.labels(self.config.service, error).inc()
        log.warning(
            "consumer.dead_lettered",
            error=error,
            detail=detail[:500],
            topic=letter.topic,
            partition=letter.partition,
            offset=letter.offset,
        )

    # --- offsets and pausing ----------------------------------------------------------------

    def _commit_offsets(self, records: list[Record]) -> None:
        last: dict[tuple[str, int], int] = {}
        for r in records:
            tp = (r.topic, r.partition)
            last[tp] = max(last.get(tp, -1), r.offset)
        offsets = [
            TopicPartition(t, p, o + 1) for (t, p), o in last.items() if (t, p) not in self._revoked
        ]
        if not offsets:
            return
        self._record_lag(offsets)
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # The effects are committed in Postgres; a redelivery is a duplicate the inbox skips.
            metrics.TRANSIENT.labels(self.config.service, "commit").inc()
            log.warning("consumer.offset_commit_failed", error=str(exc))

    def _record_lag(self, offsets: list[TopicPartition]) -> None:
        """Lag from the watermarks of the last fetch: approximate (a broker may report a high
        watermark below the log end), so a metric to watch, never a decision to act on."""
        for tp in offsets:
            _low, high = self.consumer.get_watermark_offsets(tp, cached=True)
            if high >= 0:
                metrics.LAG.labels(self.config.service, tp.topic, str(tp.partition)).set(
                    max(0, high - tp.offset)
                )

    def _wait_paused(self, seconds: float) -> None:
        """Keep group membership while the database is away, without taking new records."""
        assignment = self.consumer.assignment()
        if assignment:
            self.consumer.pause(assignment)
        deadline = time.monotonic() + seconds
        try:
            while not self.stop.is_set() and time.monotonic() < deadline:
                msg = self.consumer.poll(min(0.2, max(0.0, deadline - time.monotonic())))
                if msg is not None and msg.error() is None:
                    # A partition assigned during the pause delivered: put the record back.
                    back = Record.of(msg)
                    tp = TopicPartition(back.topic, back.partition, back.offset)
                    self.consumer.seek(tp)
                    self.consumer.pause([tp])
        finally:
            assignment = self.consumer.assignment()
            if assignment:
                self.consumer.resume(assignment)
