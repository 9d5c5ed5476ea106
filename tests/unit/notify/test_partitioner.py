"""notify_svc's producer partitioner puts every key where aiokafka's default one does."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner, murmur2  # type: ignore[import-untyped]

from services.common.settings import Settings
from services.notify_svc import partitioner
from services.notify_svc.app import _faust_app


def keys(count: int) -> list[bytes]:
    rnd = random.Random(20240506)
    made = [rnd.randbytes(rnd.randrange(0, 200)) for _ in range(count)]
    # Notification keys as produced (`<tenantid>:<notification id>`), every tail length.
    made += [f"shop-{n}:{rnd.getrandbits(128):032x}"[: 40 + n % 8].encode() for n in range(800)]
    return [*made, b"", b"\xff\xff\xff\xff", b"\x80" * 7]


def test_murmur2_is_kafkas_for_every_length() -> None:
    assert [partitioner.murmur2(key) for key in keys(3000)] == [murmur2(key) for key in keys(3000)]


def test_a_key_gets_aiokafkas_partition_for_any_partition_count() -> None:
    rnd = random.Random(7)
    default = DefaultPartitioner()
    for key in keys(3000):
        every = list(range(rnd.choice([1, 2, 3, 6, 12, 16, 50, 97, 1000])))
        available = rnd.sample(every, rnd.randrange(0, len(every) + 1))
        assert partitioner.partition(key, every, available) == default(key, every, available)


def test_a_record_without_key_goes_to_an_available_partition_or_any_when_none_is() -> None:
    every = list(range(12))
    assert {partitioner.partition(None, every, [3, 5]) for _ in range(200)} == {3, 5}
    assert {partitioner.partition(None, every, []) for _ in range(500)} == set(every)


def test_the_apps_producer_partitions_with_it() -> None:
    app = _faust_app(Settings(kafka_bootstrap_servers="localhost:9092"))
    assert app.producer.partitioner is partitioner.partition
