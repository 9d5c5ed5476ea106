"""The fast path: right after a batch commits, its outbox rows go to the producer at once.

Contract:
- ``publish`` is called by the consumer with the rows its transaction just committed, in ``seq``
  order; the idempotent producer keeps that order per partition, hence per key.
- A row is marked sent only after the broker acknowledged it (``take_delivered`` gives the
  acknowledged ``seq``s to the relay, which marks them).
- Any failed delivery turns the fast path off: from then on the relay alone publishes, in ``seq``
  order per shard, until it has caught up (``resume``), so a retried row never lands behind a
  newer row of its key. The relay also picks up whatever a crash left unsent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from services.common.runtime import metrics
from services.common.runtime.store import OutboxRow

log = structlog.get_logger(__name__)


class FastPath:
    def __init__(self, producer: Producer, service: str) -> None:
        self.producer = producer
        self.service = service
        self._lock = threading.Lock()
        self._delivered: list[int] = []
        self._healthy = True

    @property
    def healthy(self) -> bool:
        return self._healthy

    def publish(self, rows: Sequence[tuple[int, OutboxRow]]) -> None:
        """Hand committed rows to the producer; on any local refusal leave them to the relay."""
        if not rows or not self._healthy:
            return
        for seq, row in rows:
            try:
                self.producer.produce(
                    row.topic,
                    value=row.value,
                    key=row.key,
                    headers=list(row.headers),
                    on_delivery=self._report(seq),
                )
            except (BufferError, KafkaException) as exc:
                self._fail(f"produce refused locally: {exc}")
                return
        self.producer.poll(0)

    def _report(self, seq: int) -> Callable[[KafkaError | None, Message], None]:
        def report(err: KafkaError | None, _msg: Message) -> None:
            if err is None:
                with self._lock:
                    self._delivered.append(seq)
            else:
                self._fail(str(err))

        return report

    def _fail(self, error: str) -> None:
        if self._healthy:
            log.warning("fastpath.off", service=self.service, error=error)
            metrics.TRANSIENT.labels(self.service, "fastpath").inc()
        self._healthy = False

    def take_delivered(self) -> list[int]:
        with self._lock:
            taken, self._delivered = self._delivered, []
        return taken

    def resume(self) -> None:
        """The relay has published every unsent row: new rows may take the fast path again."""
        if not self._healthy:
            log.info("fastpath.on", service=self.service)
        self._healthy = True
