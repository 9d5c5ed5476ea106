"""Dead-letter policy: which failures go to ``<topic>.dlq``, and the headers that say why."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from schemas import topics

# Brokers refuse records over ~1 MiB (message.max.bytes); oversized poison is itself a cause of
# dead letters, so its copy is cut to leave room for the headers.
MAX_DLQ_VALUE = 900 * 1024


class PolledRecord(Protocol):
    """What a dead letter needs of the record it copies (any consumer's record type)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp_ms(self) -> int | None: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


@dataclass(frozen=True)
class DeadLetter:
    """A message that can never be applied, with the cause; published unchanged to the DLQ."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    error: str
    detail: str
    service: str

    @classmethod
    def of(cls, record: PolledRecord, *, error: str, detail: str, service: str) -> DeadLetter:
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            timestamp_ms=record.timestamp_ms,
            key=record.key,
            value=record.value,
            headers=tuple(record.headers),
            error=error,
            detail=detail,
            service=service,
        )

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
