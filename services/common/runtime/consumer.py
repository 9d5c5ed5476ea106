"""The batch consumer: poll → decode → one transaction for the whole batch → commit offsets.

Contract:
- A batch is what the consumer has now (no waiting for it to fill). Its effects, inbox rows and
  outbox rows commit in ONE Postgres transaction: the inbox rows are claimed in one statement,
  the service's unit of work loads every aggregate the batch names in one query per table,
  each new command is decided in memory in arrival order, and the state, the inbox outcomes and
  the outbox rows are written in a few statements. Offsets are committed only after it. A crash
  anywhere loses nothing (the batch is redelivered) and applies nothing twice (the inbox
  remembers every message id).
- A message that can never be applied (undecodable, unknown or misrouted type, a handler bug) is
  recorded in the inbox and copied to ``<topic>.dlq`` through the outbox, in the same transaction;
  the rest of the batch commits.
- A write that fails on the data (a constraint, a NUL in text) splits the batch in halves until
  the message that caused it is alone; that one is dead-lettered.
- A transient failure (Postgres away) pauses the partitions and retries the whole batch with
  backoff; the offset never moves past an effect that did not commit.
- After the commit, the batch's outbox rows go to the producer at once (the fast path).
- Knows nothing of payments or pickups: it calls ``handlers[type]`` with the service's unit of
  work.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic

import psycopg
import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from psycopg_pool import ConnectionPool

from schemas.registry import TOPIC_TYPES
from services.common import otel
from services.common.kafka_refusal import refusal_of
from services.common.runtime import emitting, metrics, reporting, sighting, steps
from services.common.runtime.decoded import DecodedRecords
from services.common.runtime.fastpath import FastPath
from services.common.runtime.readahead import ReadAhead
from services.common.runtime.records import Record
from services.common.runtime.retry import backoff, is_transient
from services.common.runtime.seam import Connection, Handler, LostRace, U
from services.common.runtime.store import Store
from services.common.runtime.waiting import WaitBook, WaitingStore, WaitLimits

log = structlog.get_logger(__name__)

DECODED_WAITING_CACHE = 2_000  # decoded waiting commands kept (a few kB each)


@dataclass
class ConsumerConfig(Generic[U]):
    service: str
    consumer_name: str
    source: str
    topics: list[str]
    rejections_topic: str
    handlers: Mapping[str, Handler[U]]
    unit_of_work: Callable[[Connection, datetime], U]
    batch_size: int = 200
    # How long a poll waits when nothing is queued; a batch never waits to fill.
    idle_wait_s: float = 0.1
    wait_limits: WaitLimits = field(default_factory=WaitLimits)
    # How often the commands that waited too long are looked for.
    sweep_interval_s: float = 1.0
    # Called on every turn of the loop (the service's timers, services/common/runtime/timers.py).
    tick: Callable[[], None] | None = None


class BatchConsumer(Generic[U]):
    """Runs the loop until ``stop`` is set; finishes and commits the batch in hand first."""

    def __init__(
        self,
        config: ConsumerConfig[U],
        consumer: Consumer,
        pool: ConnectionPool[Connection],
        store: Store,
        clock: Callable[[], datetime],
        stop: threading.Event,
        fast_path: FastPath | None = None,
    ) -> None:
        self.config = config
        self.consumer = consumer
        self.pool = pool
        self.store = store
        self.clock = clock
        self.stop = stop
        self.fast_path = fast_path
        self._revoked: set[tuple[str, int]] = set()
        self.waiting = WaitingStore(store.schema, config.consumer_name)
        self._last_sweep = 0.0
        self._recheck_from = 0  # the sweep's cursor over waiting rows (see WaitingStore.stale)
        # Waiting commands decoded in earlier batches: one enters when it parks (it was decoded
        # then) or when it is read back.
        self._decoded: DecodedRecords[steps.Command | steps.Poison] = DecodedRecords(
            lambda r: steps.decode_record(r, self._router), DECODED_WAITING_CACHE
        )
        # Whether the records coming in are mostly ones the inbox holds (a replay, a redelivery
        # after a rebalance): only then does the replay fast path's plain parse and lookup pay
        # for itself. Set from the last batch's share of known ids.
        self._replaying = False
        # Inside `_wait_paused`: partitions assigned now are paused too (`_on_assign`).
        self._pausing = False
        # When the loop last went round (monotonic), for liveness: a loop that stops turning
        # (a hung call) fails the probe.
        self.beat = time.monotonic()
        self._router = steps.Router(
            config.consumer_name,
            {t: frozenset(types) for t, types in TOPIC_TYPES.items()},
            frozenset(config.handlers),
            config.service,
        )
        self._ahead: ReadAhead[steps.Command | steps.Poison] = ReadAhead(
            self.consumer, config.batch_size, lambda r: steps.decode_record(r, self._router)
        )

    # --- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        self.consumer.subscribe(
            self.config.topics, on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        try:
            while not self.stop.is_set():
                self.beat = time.monotonic()
                records = self._next_records()
                if records:
                    self._process(records)
                self._sweep()
                if self.config.tick is not None:
                    self.config.tick()
        finally:
            self.consumer.close()  # leaves the group at once, so a rebalance need not time out

    def _next_records(self) -> list[Record]:
        """The records read ahead during the last batch (``ReadAhead``), else what a poll gives."""
        ahead = self._ahead.take()
        if ahead:
            return [r if r is not None else Record.of(m) for m, r in ahead if self._usable(m)]
        return [Record.of(m) for m in self._poll() if self._usable(m)]

    def _read_next(self) -> None:
        self._ahead.fill(decode=not self._replaying)

    def _poll(self) -> list[Message]:
        """What is queued now, up to a batch; when nothing is, wait briefly for the first."""
        size = self.config.batch_size
        batch = self.consumer.consume(num_messages=size, timeout=0)
        if batch:
            return batch
        first = self.consumer.poll(self.config.idle_wait_s)
        if first is None:
            return []
        return (
            [first, *self.consumer.consume(num_messages=size - 1, timeout=0)]
            if size > 1
            else [first]
        )

    def _usable(self, msg: Message) -> bool:
        err = msg.error()
        if err is None:
            return True
        if err.code() == KafkaError._PARTITION_EOF:
            return False
        if err.fatal():
            raise KafkaException(err)
        refusal = refusal_of(err.code(), str(err))
        if refusal is not None:
            raise refusal  # the same answer on every retry: stop (services/common/kafka_refusal)
        log.warning("consumer.kafka_error", error=str(err))
        return False

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info(
            "consumer.assigned",
            pid=os.getpid(),  # which member of a ``--processes N`` service
            partitions=[(p.topic, p.partition) for p in partitions],
        )
        # librdkafka keeps a partition's pause through its revocation: one revoked while
        # `_wait_paused` held it would come back paused, and never be read again. So each
        # partition assigned is assigned here (as the client would do after this callback)
        # and set as the loop needs it: paused during a pause, else read.
        consumer.incremental_assign(partitions)
        if self._pausing:
            consumer.pause(partitions)
        else:
            consumer.resume(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Whatever is in hand for these partitions is dropped: the next owner gets it from the
        # last committed offset, and the inbox turns any overlap into a duplicate.
        gone = {(p.topic, p.partition) for p in partitions}
        self._revoked.update(gone)
        # So are the records read ahead of them: a revocation can come in any poll between
        # reading them and their batch (a transient error's paused wait).
        self._ahead.drop(gone)
        log.info("consumer.revoked", partitions=sorted(gone))

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
                self._apply_splitting(records)
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

    def _apply_splitting(self, records: list[Record]) -> None:
        """Apply ``records``; if the data makes a write fail, halve until the culprit is alone.

        Halves are applied in order, each in its own transaction, so arrival order holds.
        """
        try:
            self._apply(records)
        except psycopg.errors.UniqueViolation as exc:
            # A row this batch created was created by a concurrent transaction since it was
            # read (a rebalance overlap): decide again on the current state.
            raise LostRace(str(exc)) from exc
        except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
            if len(records) == 1:
                self._dead_letter_alone(records[0], exc)
                return
            log.warning("consumer.batch_split", size=len(records), error=str(exc)[:300])
            half = len(records) // 2
            self._apply_splitting(records[:half])
            self._apply_splitting(records[half:])

    def _book(
        self, conn: Connection, subjects: set[tuple[str, str]], tenants: set[str]
    ) -> WaitBook:
        """The waiting commands around ``subjects``, decoded, with the tenants' waiting counts."""
        rows, counts = self.waiting.around(conn, subjects, tenants)
        for row in rows:
            item = self._decoded.of(row.record)
            row.command = item if isinstance(item, steps.Command) else None
        return WaitBook.of(rows, counts, self.config.wait_limits)

    def _sweep(self) -> None:
        """Decide the commands that waited as long as they may (``not_found``, exactly once),
        and release those whose awaited aggregate appeared in a batch that could not see them."""
        if time.monotonic() - self._last_sweep < self.config.sweep_interval_s:
            return
        self._last_sweep = time.monotonic()
        try:
            self._apply([], sweep=True)
            with self.pool.connection() as conn:
                count, age = self.waiting.stats(conn)
            metrics.WAITING.labels(self.config.service).set(count)
            metrics.WAITING_AGE.labels(self.config.service).set(age)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("consumer.sweep_transient", error=str(exc))

    def _apply(self, records: list[Record], *, sweep: bool = False) -> None:
        config = self.config
        for r in records:
            metrics.CONSUMED.labels(config.service, r.topic).inc()
        prepass = self._replaying
        if prepass:
            records = self._drop_known(records)
        if not records and not sweep:
            return
        items = [self._ahead.decoded(r) for r in records]
        started_ns = time.time_ns()
        with self.pool.connection() as conn:
            now = self.clock()
            uow = config.unit_of_work(conn, now)
            uow.prepare([i.envelope for i in items if isinstance(i, steps.Command)])
            with conn.transaction():
                claims = steps.claims(items, config.consumer_name, config.service)
                seen = self.store.claim(conn, claims)
                if claims and not prepass:
                    self._replaying = 2 * len(seen) >= len(claims)
                work = steps.dedupe(items, seen, config.consumer_name, config.service)
                new = [w.command for w in work if isinstance(w, steps.Apply)]
                subjects = {(c.envelope.tenantid, c.envelope.subject) for c in new}
                if sweep:
                    subjects |= self.waiting.expired(conn, now, limit=config.batch_size)
                    stale, self._recheck_from = self.waiting.stale(
                        conn, self._recheck_from, limit=config.batch_size
                    )
                    subjects |= stale
                book = self._book(conn, subjects, {c.envelope.tenantid for c in new})
                parked = [r.command.envelope for r in book.remaining() if r.command is not None]
                uow.load([*(c.envelope for c in new), *parked])
                results = steps.apply(
                    work,
                    uow,
                    config.handlers,
                    now=now,
                    source=config.source,
                    book=book,
                    on_failure=reporting.handler_failed,
                )
                with conn.pipeline():
                    # The state's writes go out first: the server executes them while the
                    # outbox rows and inbox outcomes are made (a pipeline sends each statement
                    # as it is issued and waits only for the last one's rows).
                    uow.flush()
                    self.waiting.write(conn, book)
                    out = emitting.emit(
                        results,
                        consumer=config.consumer_name,
                        service=config.service,
                        source=config.source,
                        rejections_topic=config.rejections_topic,
                        now=now,
                    )
                    if out.release:
                        self.store.release(conn, out.release)
                        self.store.claim(conn, out.letters)
                    self.store.settle(conn, out.settle)
                    inserted = self.store.add_outbox(conn, out.outbox, meanwhile=self._read_next)
        for row in book.remaining():
            if row.seq is None and row.command is not None:
                self._decoded.remember(row.record, row.command)
        reporting.count(results, self.config.service)
        otel.handled(self.config.service, reporting.handled(results), started_ns)
        if self.fast_path is not None:
            self.fast_path.publish(inserted)

    def _drop_known(self, records: list[Record]) -> list[Record]:
        """The records left once those whose id and content the inbox already holds are dropped:
        a replayed record costs a plain parse and one lookup per batch, not a decode and a
        decision. Whatever the lookup cannot vouch for goes through ``decode`` and the claim.
        Run while at least half of a batch was known (``_replaying``), since for new records it
        is a second parse and hash on top of the decode."""
        sightings = [s for r in records if (s := sighting.sighting(r, self._router)) is not None]
        if not sightings:
            self._replaying = False
            return records
        with self.pool.connection() as conn, conn.transaction():
            seen = self.store.known(conn, list({s.key: None for s in sightings}))
        known = sighting.known_duplicates(sightings, seen)
        self._replaying = 2 * len(known) >= len(records)
        if not known:
            return records
        metrics.DUPLICATES.labels(self.config.service).inc(len(known))
        dropped = {id(sightings[i].record) for i in known}
        return [r for r in records if id(r) not in dropped]

    def _dead_letter_alone(self, record: Record, exc: Exception) -> None:
        """One record whose writes fail on its data: only its dead letter is written."""
        error = "invalid" if isinstance(exc, psycopg.errors.DataError) else "constraint_violation"
        poison = steps.Poison(record, error, f"{type(exc).__name__}: {exc}")
        with self.pool.connection() as conn, conn.transaction():
            claims = steps.claims([poison], self.config.consumer_name, self.config.service)
            if self.store.claim(conn, claims):
                return  # dead-lettered before
            key = steps.letter_key(
                self.config.consumer_name, steps.letter_of(poison, self.config.service)
            )
            out = emitting.emit(
                [steps.Letter(poison, key)],
                consumer=self.config.consumer_name,
                service=self.config.service,
                source=self.config.source,
                rejections_topic=self.config.rejections_topic,
                now=self.clock(),
            )
            self.store.settle(conn, out.settle)
            self.store.add_outbox(conn, out.outbox)
        reporting.dead_lettered(self.config.service, record, error, poison.detail)

    # --- offsets and pausing ----------------------------------------------------------------

    def _commit_offsets(self, records: list[Record]) -> None:
        offsets = [
            TopicPartition(t, p, o)
            for (t, p), o in emitting.next_offsets(records).items()
            if (t, p) not in self._revoked
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
        self._pausing = True
        deadline = time.monotonic() + seconds
        try:
            while not self.stop.is_set() and time.monotonic() < deadline:
                self.beat = time.monotonic()
                msg = self.consumer.poll(min(0.2, max(0.0, deadline - time.monotonic())))
                if msg is not None and msg.error() is None:
                    # Partitions assigned meanwhile are paused as they come (`_on_assign`);
                    # a record still delivered for a paused one is put back, not lost.
                    back = Record.of(msg)
                    tp = TopicPartition(back.topic, back.partition, back.offset)
                    self.consumer.seek(tp)
                    self.consumer.pause([tp])
        finally:
            self._pausing = False
            assignment = self.consumer.assignment()
            if assignment:
                self.consumer.resume(assignment)
