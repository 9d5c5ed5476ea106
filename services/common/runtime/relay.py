"""The outbox relay: marks what the fast path delivered, and publishes whatever it left unsent.

Contract:
- The fast path (``fastpath.py``) publishes a batch's rows right after its commit; the relay
  marks them sent once the broker acknowledged them.
- As the safety net, it publishes rows still unsent after ``grace_s`` (a crash between commit and
  delivery, a fast path turned off by a failed delivery), in ``seq`` order per shard (a shard holds
  every row of a key); a relay owns a shard for one transaction through an advisory lock, so
  several relays may run at once and none overtakes another on the same key.
- A row is marked sent only after the broker acknowledged it; a crash in between republishes it
  (a duplicate on the wire, always with the same event id).
- A row the broker refuses for good (too large, invalid) is parked with its error, so one bad row
  never stops the rows behind it; ``lunas outbox retry`` sends it again.
- A topic the broker does not let us write (an ACL mistake, fixable) is held: none of its rows is
  tried again for a long, growing while (``hold_base_s`` doubling up to ``hold_cap_s``), so the
  order of its rows holds once the ACL is fixed; ``lunas_outbox_unauthorized_topics`` alerts.
- A fatal producer error (the idempotent producer lost its guarantees) raises ``ProducerFatal``:
  the process exits non-zero and its supervisor restarts it with a fresh producer; unmarked rows
  are published again by the next relay.
- Other failures are retried with a short backoff.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from psycopg import sql
from psycopg_pool import ConnectionPool

from services.common.runtime import metrics
from services.common.runtime.fastpath import FastPath, ProducerErrors
from services.common.runtime.retry import backoff, is_transient
from services.common.runtime.store import OUTBOX_SHARDS, decode_headers

log = structlog.get_logger(__name__)


class PublishFailed(RuntimeError):
    """The broker did not acknowledge every record of a batch."""


# Refusals that no retry can change: the row is parked for an operator.
_PERMANENT = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.INVALID_MSG_SIZE,
        KafkaError.INVALID_MSG,
        KafkaError.RECORD_LIST_TOO_LARGE,
        KafkaError.INVALID_RECORD,
    }
)
# Refusals an operator fixes (an ACL): the topic is held and tried again after a long while.
_UNAUTHORIZED = frozenset(
    {
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    }
)


@dataclass
class _Deliveries:
    """What became of each row of a batch, by outbox ``seq``."""

    topics: dict[int, str] = field(default_factory=dict)
    pending: set[int] = field(default_factory=set)
    delivered: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)
    unauthorized: dict[str, str] = field(default_factory=dict)  # topic -> error
    held: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    fatal: str = ""
    first_error: str = ""

    def settle(self, seq: int, err: KafkaError | None) -> None:
        self.pending.discard(seq)
        if err is None:
            self.delivered.append(seq)
        elif err.fatal() or err.code() == KafkaError._FATAL:
            self.fatal = self.fatal or str(err)
            self.retry.append(seq)
        elif err.code() in _PERMANENT:
            self.refused[seq] = str(err)
        elif err.code() in _UNAUTHORIZED:
            self.unauthorized.setdefault(self.topics[seq], str(err))
            self.held.append(seq)
        else:
            self.retry.append(seq)
            self.first_error = self.first_error or str(err)


@dataclass
class _Hold:
    until: float
    error: str
    times: int


@dataclass
class RelayConfig:
    service: str
    schema: str
    batch_size: int = 500
    poll_interval_s: float = 1.0
    # Rows younger than this belong to the fast path while it is on.
    grace_s: float = 5.0
    retention_hours: int = 72
    flush_timeout_s: float = 30.0
    # A topic we may not write is tried again after 30 s, 60 s … at most every 10 minutes.
    hold_base_s: float = 30.0
    hold_cap_s: float = 600.0


class OutboxRelay:
    def __init__(
        self,
        config: RelayConfig,
        pool: ConnectionPool[psycopg.Connection[Any]],
        producer: Producer,
        stop: threading.Event,
        fast_path: FastPath | None = None,
        errors: ProducerErrors | None = None,
    ) -> None:
        self.config = config
        self.pool = pool
        self.producer = producer
        self.stop = stop
        self.fast_path = fast_path
        self.errors = errors or ProducerErrors(config.service)
        self._holds: dict[str, _Hold] = {}
        # Age of the oldest row this relay should have published (none parked or held), for
        # liveness; None until the first sweep has looked.
        self.oldest_unsent_s: float | None = None
        ident = sql.Identifier(config.schema)
        self._lock_space = f"lunas.relay.{config.schema}"
        self._select = sql.SQL(
            "SELECT seq, topic, msg_key, msg_value, headers FROM {}.outbox"
            " WHERE sent_at IS NULL AND parked_at IS NULL AND shard = ANY(%s)"
            " AND created_at < now() - make_interval(secs => %s) AND topic <> ALL(%s)"
            " ORDER BY seq LIMIT %s"
        ).format(ident)
        self._held_rows = sql.SQL(
            "UPDATE {}.outbox SET attempts = attempts + 1, last_error = %s WHERE seq = ANY(%s)"
        ).format(ident)
        self._oldest = sql.SQL(
            "SELECT extract(epoch FROM now() - min(created_at)) FROM {}.outbox"
            " WHERE sent_at IS NULL AND parked_at IS NULL AND topic <> ALL(%s)"
        ).format(ident)
        self._mark = sql.SQL("UPDATE {}.outbox SET sent_at = now() WHERE seq = ANY(%s)").format(
            ident
        )
        self._park = sql.SQL(
            "UPDATE {}.outbox SET parked_at = now(), last_error = %s, attempts = attempts + 1"
            " WHERE seq = %s"
        ).format(ident)
        self._parked = sql.SQL(
            "SELECT count(*) FROM {}.outbox WHERE parked_at IS NOT NULL AND sent_at IS NULL"
        ).format(ident)
        self._backlog = sql.SQL(
            "SELECT count(*), extract(epoch FROM now() - min(created_at))"
            " FROM {}.outbox WHERE sent_at IS NULL"
        ).format(ident)
        self._prune = sql.SQL(
            "DELETE FROM {}.outbox WHERE sent_at < now() - make_interval(hours => %s)"
        ).format(ident)
        self._unsent = sql.SQL(
            "SELECT EXISTS (SELECT 1 FROM {}.outbox WHERE sent_at IS NULL AND parked_at IS NULL)"
        ).format(ident)

    def run(self) -> None:
        """Mark and publish until ``stop`` is set, then drain what is committed and return."""
        delays = backoff()
        last_sweep = last_housekeeping = 0.0
        while True:
            stopping = self.stop.is_set()
            self.errors.raise_if_fatal()
            try:
                # Serves the fast path's delivery reports while waiting for the next sweep; when
                # stopping, waits for every report so nothing in flight is published twice.
                if stopping:
                    self.producer.flush(self.config.flush_timeout_s)
                else:
                    self.producer.poll(0.02)
                self.mark_delivered()
                published = 0
                if stopping or time.monotonic() - last_sweep >= self.config.poll_interval_s:
                    published = self.publish_once(grace_s=0 if stopping else None)
                    last_sweep = time.monotonic() if published < self.config.batch_size else 0
                    self._maybe_resume(published)
                    self._measure_oldest()
                if time.monotonic() - last_housekeeping > 30:
                    self._housekeeping()
                    last_housekeeping = time.monotonic()
                delays = backoff()
                if stopping and published == 0:
                    break
            except Exception as exc:
                if not (is_transient(exc) or isinstance(exc, PublishFailed)):
                    raise
                metrics.TRANSIENT.labels(self.config.service, "relay").inc()
                delay = next(delays)
                log.warning("relay.transient", error=str(exc), retry_in=round(delay, 2))
                if stopping:
                    break
                self.stop.wait(delay)

    def mark_delivered(self) -> int:
        """Mark sent what the fast path's producer saw acknowledged."""
        if self.fast_path is None:
            return 0
        seqs = self.fast_path.take_delivered()
        if seqs:
            with self.pool.connection() as conn:
                conn.execute(self._mark, (seqs,))
            metrics.PUBLISHED.labels(self.config.service).inc(len(seqs))
        return len(seqs)

    def _maybe_resume(self, published: int) -> None:
        if self.fast_path is None or self.fast_path.healthy or published:
            return
        with self.pool.connection() as conn:
            row = conn.execute(self._unsent).fetchone()
        if row is not None and not row[0]:
            self.fast_path.resume()

    def publish_once(self, grace_s: float | None = None) -> int:
        """Publish one batch of unsent rows from the shards this relay can lock; return how many.

        ``grace_s`` (default: the configured grace while the fast path is on, else 0) leaves the
        youngest rows to the fast path.
        """
        if grace_s is None:
            on = self.fast_path is not None and self.fast_path.healthy
            grace_s = self.config.grace_s if on else 0.0
        with self.pool.connection() as conn, conn.transaction():
            shards = [
                row[0]
                for row in conn.execute(
                    "SELECT s FROM generate_series(0, %s) s"
                    " WHERE pg_try_advisory_xact_lock(hashtext(%s), s)",
                    (OUTBOX_SHARDS - 1, self._lock_space),
                )
            ]
            if not shards:
                return 0
            held = self._held_topics()
            rows = conn.execute(
                self._select, (shards, grace_s, held, self.config.batch_size)
            ).fetchall()
            if not rows:
                return 0
            result = self._produce_all(rows)
            if result.delivered:
                conn.execute(self._mark, (result.delivered,))
                self._release({result.topics[seq] for seq in result.delivered})
            for seq, error in result.refused.items():
                conn.execute(self._park, (error, seq))
                log.error("relay.parked", seq=seq, error=error)
                metrics.REFUSED.labels(self.config.service, "parked").inc()
            for topic, error in result.unauthorized.items():
                seqs = [seq for seq in result.held if result.topics[seq] == topic]
                conn.execute(self._held_rows, (error, seqs))
                self._hold(topic, error, len(seqs))
        metrics.PUBLISHED.labels(self.config.service).inc(len(result.delivered))
        self.errors.raise_if_fatal(result.fatal)
        if result.retry:
            # What was delivered is marked (committed above); the rest is tried again.
            raise PublishFailed(
                f"{len(result.retry)} records not acknowledged: {result.first_error}"
            )
        return len(rows)

    def _produce_all(self, rows: list[tuple[Any, ...]]) -> _Deliveries:
        result = _Deliveries(topics={row[0]: row[1] for row in rows})

        def on_delivery(seq: int) -> Callable[[KafkaError | None, Message], None]:
            def report(err: KafkaError | None, _msg: Message) -> None:
                result.settle(seq, err)

            return report

        for seq, topic, key, value, headers in rows:
            while True:
                try:
                    self.producer.produce(
                        topic,
                        value=bytes(value),
                        key=bytes(key),
                        headers=decode_headers(headers),
                        on_delivery=on_delivery(seq),
                    )
                    result.pending.add(seq)
                    break
                except BufferError:
                    self.producer.poll(0.1)  # the local queue is full: let deliveries drain
                except KafkaException as exc:  # refused locally, e.g. larger than allowed
                    result.settle(seq, exc.args[0])
                    break
        self.producer.flush(self.config.flush_timeout_s)
        result.retry.extend(sorted(result.pending))  # not acknowledged within the timeout
        return result

    def _held_topics(self) -> list[str]:
        """Topics still held; one whose hold is over is tried again (and held longer if refused)."""
        now = time.monotonic()
        return [t for t, hold in self._holds.items() if hold.until > now]

    def _release(self, topics: set[str]) -> None:
        for topic in topics & set(self._holds):
            hold = self._holds.pop(topic)
            log.info("relay.authorized", topic=topic, held_times=hold.times)
        metrics.UNAUTHORIZED_TOPICS.labels(self.config.service).set(len(self._holds))

    def _hold(self, topic: str, error: str, rows: int) -> None:
        previous = self._holds.get(topic)
        times = previous.times + 1 if previous else 1
        delay = min(self.config.hold_cap_s, self.config.hold_base_s * 2 ** (times - 1))
        self._holds[topic] = _Hold(time.monotonic() + delay, error, times)
        metrics.REFUSED.labels(self.config.service, "unauthorized").inc(rows)
        metrics.UNAUTHORIZED_TOPICS.labels(self.config.service).set(len(self._holds))
        log.error(
            "relay.unauthorized",
            topic=topic,
            error=error,
            rows=rows,
            retry_in_s=round(delay, 1),
            hint="grant this service write access to the topic; rows wait, in order",
        )

    def _measure_oldest(self) -> None:
        with self.pool.connection() as conn:
            row = conn.execute(self._oldest, (list(self._holds),)).fetchone()
        self.oldest_unsent_s = float(row[0]) if row and row[0] is not None else 0.0

    def _housekeeping(self) -> None:
        with self.pool.connection() as conn:
            count, age = conn.execute(self._backlog).fetchone() or (0, None)
            metrics.OUTBOX_BACKLOG.labels(self.config.service).set(count or 0)
            metrics.OUTBOX_AGE.labels(self.config.service).set(float(age or 0))
            parked = conn.execute(self._parked).fetchone()
            metrics.OUTBOX_PARKED.labels(self.config.service).set(parked[0] if parked else 0)
            conn.execute(self._prune, (self.config.retention_hours,))
