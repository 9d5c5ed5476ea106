"""The consumer's cache of decoded waiting records: decoded once, least recently used dropped."""

from __future__ import annotations

from services.common.runtime.decoded import DecodedRecords
from services.common.runtime.records import Record


def _record(offset: int, value: bytes = b"{}") -> Record:
    return Record("payment.commands", 0, offset, None, value, (), None)


def _counting() -> tuple[DecodedRecords[str], list[int]]:
    calls: list[int] = []

    def decode(r: Record) -> str:
        calls.append(r.offset)
        return f"decoded-{r.offset}"

    return DecodedRecords(decode, size=2), calls


def test_a_record_is_decoded_once_while_it_is_kept() -> None:
    cache, calls = _counting()
    assert cache.of(_record(1)) == cache.of(_record(1)) == "decoded-1"
    assert calls == [1]


def test_the_least_recently_used_is_dropped() -> None:
    cache, calls = _counting()
    cache.of(_record(1))
    cache.of(_record(2))
    cache.of(_record(1))  # 2 is now the least recently used
    cache.of(_record(3))
    cache.of(_record(1))
    cache.of(_record(2))
    assert calls == [1, 2, 3, 2]


def test_what_is_remembered_is_not_decoded_again() -> None:
    cache, calls = _counting()
    cache.remember(_record(7), "parked")
    assert cache.of(_record(7)) == "parked"
    assert calls == []


def test_another_value_at_the_same_offset_is_another_record() -> None:
    cache, calls = _counting()
    cache.of(_record(1, b'{"a":1}'))
    cache.of(_record(1, b'{"a":2}'))
    assert calls == [1, 1]
