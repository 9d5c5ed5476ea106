"""Dead-letter policy: which failures go to ``<topic>.dlq``, and the headers that say why."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields

from schemas import topics
from services.common.runtime.records import Record

# Brokers refuse records over ~1 MiB (message.max.bytes); oversized poison is itself a cause of
# dead letters, so its copy is cut to leave room for the headers.
MAX_DLQ_VALUE = 900 * 1024


@dataclass(frozen=True)
class DeadLetter(Record):
    """A message that can never be applied, with the cause; published unchanged to the DLQ."""

    error: str
    detail: str
    service: str

    @classmethod
    def for_record(cls, record: Record, *, error: str, detail: str, service: str) -> DeadLetter:
        copied = {f.name: getattr(record, f.name) for f in fields(Record)}
        return cls(**copied, error=error, detail=detail, service=service)

    @property
    def dlq_topic(self) -> str:
        return topics.dlq_topic(self.topic)

    @property
    def event_id(self) -> str:
        # One dead letter per source record, however often that record is redelivered; the
        # timestamp and a digest tell apart two records at one offset (a broker that lost its log).
        digest = hashlib.sha256(self.value or b"").hexdigest()[:16]
        return f"dlq/{self.topic}/{self.partition}/{self.offset}/{self.timestamp_ms}/{digest}"

    def dlq_value(self) -> bytes:
        """The original value, cut to what a broker accepts with our headers."""
        value = self.value or b""
        return value[:MAX_DLQ_VALUE]

    def dlq_headers(self) -> list[tuple[str, bytes]]:
        ours = [
            ("lunas.error", self.error.encode()),
            ("lunas.error.detail", self.detail[:4000].encode()),
            ("lunas.service", self.service.encode()),
            ("lunas.original.topic", self.topic.encode()),
            ("lunas.original.partition", str(self.partition).encode()),
            ("lunas.original.offset", str(self.offset).encode()),
        ]
        if self.timestamp_ms is not None:
            ours.append(("lunas.original.timestamp", str(self.timestamp_ms).encode()))
        if self.value is not None and len(self.value) > MAX_DLQ_VALUE:
            ours.append(("lunas.truncated", str(len(self.value)).encode()))
        kept = [(k, v[:4096]) for k, v in self.headers if not k.startswith("lunas.")][:32]
        return kept + ours
