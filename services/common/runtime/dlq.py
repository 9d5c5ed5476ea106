"""Dead-letter policy: which failures go to ``<topic>.dlq``, and the headers that say why."""

from __future__ import annotations

from dataclasses import dataclass

from schemas import topics


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

    @property
    def dlq_topic(self) -> str:
        return topics.dlq_topic(self.topic)

    @property
    def event_id(self) -> str:
        # One dead letter per source record, however often that record is redelivered.
        return f"dlq/{self.topic}/{self.partition}/{self.offset}"

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
        kept = [(k, v) for k, v in self.headers if not k.startswith("lunas.")]
        return kept + ours
