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


class ProducerFatal(RuntimeError):
    """The producer reported a fatal error: it can publish nothing more, the process must go."""


class ProducerErrors:
    """The producer's ``error_cb``: logs what librdkafka reports and remembers a fatal error.

    A fatal error (e.g. the idempotent producer's sequence broken) leaves the producer unable to
    publish; retrying with it would only spin. The relay raises ``ProducerFatal`` on it, the
    process exits non-zero, and its supervisor starts it again with a fresh producer.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self.fatal = ""

    def report(self, err: KafkaError) -> None:
        if err.fatal():
            self.record_fatal(str(err))
        else:
            log.warning("producer.error", service=self.service, error=str(err))

    def record_fatal(self, error: str) -> None:
        if not self.fatal:
            log.error("producer.fatal", service=self.service, error=error)
        self.fatal = self.fatal or error

    def raise_if_fatal(self, error: str = "") -> None:
        if error:
            self.record_fatal(error)
        if self.fatal:
            raise ProducerFatal(self.fatal)


class FastPath:
    def __init__(
        self, producer: Producer, service: str, errors: ProducerErrors | None = None
    ) -> None:
        self.producer = producer
        self.service = service
        self.errors = errors or ProducerErrors(service)
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
                if err.fatal():
                    self.errors.record_fatal(str(err))
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
