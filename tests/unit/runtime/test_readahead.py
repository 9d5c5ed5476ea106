"""ReadAhead: what it polls is handed over once, decoded once, and dropped with its partition."""

from __future__ import annotations

from typing import Any

from services.common.runtime.readahead import ReadAhead
from services.common.runtime.records import Record


class _Message:
    def __init__(self, topic: str, partition: int, offset: int, error: Any = None) -> None:
        self._t, self._p, self._o, self._e = topic, partition, offset, error

    def topic(self) -> str:
        return self._t

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o

    def error(self) -> Any:
        return self._e

    def headers(self) -> list[tuple[str, bytes]]:
        return []

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_700_000_000_000)

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return f"v{self._o}".encode()


class _Consumer:
    def __init__(self, *batches: list[_Message]) -> None:
        self.batches = list(batches)
        self.calls: list[tuple[int, float]] = []

    def consume(self, num_messages: int, timeout: float) -> list[_Message]:
        self.calls.append((num_messages, timeout))
        return self.batches.pop(0) if self.batches else []


def _ahead(consumer: _Consumer, decoded: list[int]) -> ReadAhead[str]:
    def decode(record: Record) -> str:
        decoded.append(record.offset)
        return f"cmd{record.offset}"

    return ReadAhead(consumer, 50, decode)  # type: ignore[arg-type]


def test_what_is_read_ahead_is_decoded_once_and_handed_over_once() -> None:
    decoded: list[int] = []
    consumer = _Consumer([_Message("t", 0, 1), _Message("t", 0, 2)])
    ahead = _ahead(consumer, decoded)
    ahead.fill(decode=True)
    assert consumer.calls == [(50, 0)]  # never waits
    taken = ahead.take()
    assert [r.offset for _, r in taken if r is not None] == [1, 2]
    assert [ahead.decoded(r) for _, r in taken if r is not None] == ["cmd1", "cmd2"]
    assert decoded == [1, 2]  # the batch did not decode them again
    assert ahead.take() == []


def test_a_second_fill_keeps_what_is_ahead_and_polls_nothing() -> None:
    consumer = _Consumer([_Message("t", 0, 1)], [_Message("t", 0, 2)])
    ahead = _ahead(consumer, [])
    ahead.fill(decode=True)
    ahead.fill(decode=True)  # a retried batch's pipeline
    assert len(consumer.calls) == 1
    assert [r.offset for _, r in ahead.take() if r is not None] == [1]


def test_a_revoked_partitions_records_are_dropped_the_others_kept() -> None:
    consumer = _Consumer([_Message("t", 0, 1), _Message("t", 1, 7), _Message("u", 0, 3)])
    ahead = _ahead(consumer, [])
    ahead.fill(decode=True)
    ahead.drop({("t", 1)})
    assert [(m.topic(), m.partition()) for m, _ in ahead.take()] == [("t", 0), ("u", 0)]


def test_a_message_with_an_error_is_left_for_the_batch_and_a_replay_is_not_decoded() -> None:
    decoded: list[int] = []
    consumer = _Consumer([_Message("t", 0, 1, error="broker says no"), _Message("t", 0, 2)])
    ahead = _ahead(consumer, decoded)
    ahead.fill(decode=False)
    (bad, none), (_, record) = ahead.take()
    assert bad.error() == "broker says no" and none is None
    assert decoded == []
    assert record is not None and ahead.decoded(record) == "cmd2"  # decoded when asked
    assert decoded == [2]
