"""A record decoded into a command this service takes: what the steps (``steps.py``) hand on and
a waiting row (``waiting.py``) keeps, in a module of its own so neither imports the other; and
the consumer's cache of decoded waiting records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from schemas import Envelope
from services.common.runtime.records import Record
from services.common.runtime.store import InboxKey


@dataclass(frozen=True, slots=True)
class Command:
    """A decoded message that a handler of this service takes."""

    record: Record
    envelope: Envelope
    key: InboxKey
    digest: str


T = TypeVar("T")
_RecordKey = tuple[str, int, int, bytes | None]


class DecodedRecords(Generic[T]):
    """Records decoded once, by (topic, partition, offset, value), the least recently used
    dropped beyond ``size``. A command that waits is read back with every batch around its
    subject; decoding it again each time was the larger part of a batch's decoding in the
    profile. Records are immutable, so what they decode to is too."""

    def __init__(self, decode: Callable[[Record], T], size: int) -> None:
        self._decode = decode
        self._size = size
        self._items: dict[_RecordKey, T] = {}

    def of(self, record: Record) -> T:
        """``record`` decoded: from the cache, else decoded now (and kept)."""
        item = self._items.pop(_key(record), None)
        if item is None:
            item = self._decode(record)
        self.remember(record, item)
        return item

    def remember(self, record: Record, item: T) -> None:
        """Keep what ``record`` was decoded to elsewhere (a command that parks in its batch)."""
        if len(self._items) >= self._size:
            del self._items[next(iter(self._items))]
        self._items[_key(record)] = item


def _key(record: Record) -> _RecordKey:
    return (record.topic, record.partition, record.offset, record.value)
