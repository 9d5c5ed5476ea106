"""A polled Kafka record as the runtime, the DLQ tools and the ops CLI use it: typed, immutable."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import Message


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
