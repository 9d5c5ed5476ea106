"""The next batch, read while the server executes this batch's writes (docs/ARCHITECTURE.md
"Shape"): the main thread would otherwise only wait on the socket.

What is read ahead is only polled and decoded. It is claimed, applied and committed with its
own batch, never before; a message with an error is left for the consumer's own checks with
that batch, outside the transaction in flight. A revoked partition's records are dropped with
it (``drop``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from confluent_kafka import Consumer, KafkaException, Message

from services.common.runtime.records import Record

Item = TypeVar("Item")


class ReadAhead(Generic[Item]):
    def __init__(self, consumer: Consumer, size: int, decode: Callable[[Record], Item]) -> None:
        self._consumer = consumer
        self._size = size
        self._decode = decode
        # In poll order, each message with its record where it had no error; and what the
        # records decode to, by identity.
        self._messages: list[tuple[Message, Record | None]] = []
        self._items: dict[int, tuple[Record, Item]] = {}

    def fill(self, *, decode: bool) -> None:
        """Take what is queued now (never waiting), unless something is already ahead; decode
        it unless told not to (a replay's records are mostly dropped before decoding)."""
        if self._messages:
            return
        self._items.clear()
        try:
            polled = self._consumer.consume(num_messages=self._size, timeout=0)
        except KafkaException:
            return  # the loop's own poll meets it again, outside the transaction in flight
        self._messages = [(m, Record.of(m) if m.error() is None else None) for m in polled]
        if decode:
            for _m, record in self._messages:
                if record is not None:
                    self._items[id(record)] = (record, self._decode(record))

    def take(self) -> list[tuple[Message, Record | None]]:
        """What was read ahead (empty: nothing, poll now), handed over once."""
        taken, self._messages = self._messages, []
        if not taken:
            self._items.clear()
        return taken

    def decoded(self, record: Record) -> Item:
        """``record`` decoded: as it was read ahead, else now."""
        hit = self._items.pop(id(record), None)
        if hit is not None and hit[0] is record:
            return hit[1]
        return self._decode(record)

    def drop(self, partitions: set[tuple[str, int]]) -> None:
        """Forget what was read of ``partitions`` (revoked: their next owner reads them)."""
        self._messages = [
            (m, r) for m, r in self._messages if (m.topic(), m.partition()) not in partitions
        ]
