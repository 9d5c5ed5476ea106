"""The failure policy of notify_svc's agents, with an in-memory feed and broker: no IO."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest
from aiokafka.errors import KafkaConnectionError  # type: ignore[import-untyped]
from redis.exceptions import ConnectionError as RedisConnectionError

import schemas
from schemas.examples import EXAMPLES_DIR
from services.common.runtime.records import Record
from services.notify_svc.handling import Ports
from services.notify_svc.memory import MemoryFeed, MemoryJoins, MemoryLocales
from services.notify_svc.model import Notification
from services.notify_svc.processing import (
    BatchProcessor,
    DeadLettered,
    Interrupted,
    Notified,
    Outcome,
    Outgoing,
)

(DECIDED_PATH,) = (EXAMPLES_DIR / "pickup_cancel_reject").glob("*_pickup.cancel.decided.json")
DECIDED = DECIDED_PATH.read_bytes()
TENANT = json.loads(DECIDED)["tenantid"]
SELLER = json.loads(DECIDED)["data"]["requested_by"]
CE = [schemas.CONTENT_TYPE_HEADER]


@dataclass
class Feed(MemoryFeed):
    """A feed store whose first `down` calls fail as if Redis were unreachable."""

    down: int = 0
    error: BaseException = field(default_factory=lambda: RedisConnectionError("refused"))

    async def add_all(self, notifications: Sequence[Notification]) -> list[bool]:
        if self.down > 0:
            self.down -= 1
            raise self.error
        return await super().add_all(notifications)


@dataclass
class Broker:
    """Records what was produced; its first `down` batches fail as if the broker were away."""

    down: int = 0
    sent: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]] = field(
        default_factory=list
    )

    async def send_all(self, records: Sequence[Outgoing]) -> None:
        if self.down > 0:
            self.down -= 1
            raise KafkaConnectionError("no broker")
        self.sent += [(r.topic, r.key, r.value, list(r.headers)) for r in records]

    def on(self, topic: str) -> list[tuple[bytes | None, bytes, dict[str, bytes]]]:
        return [(k, v, dict(h)) for t, k, v, h in self.sent if t == topic]


def record(value: bytes | None, *, topic: str = "pickup.cancel.decided", offset: int = 7) -> Record:
    return Record(
        topic=topic,
        partition=2,
        offset=offset,
        key=b"seller-clodeo-77:ORD",
        value=value,
        headers=tuple(CE),
        timestamp_ms=1_714_960_000_000,
    )


def no_delays() -> Iterator[float]:
    while True:
        yield 0.5


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def ports(feed: Feed) -> Ports:
    return Ports(feed, MemoryJoins(), MemoryLocales())


def processor(feed: Feed, broker: Broker, sleeps: Sleeps | None = None) -> BatchProcessor:
    return BatchProcessor(ports(feed), broker, delays=no_delays, sleep=sleeps or Sleeps())


def settle(run: BatchProcessor, *records: Record) -> list[Outcome]:
    return asyncio.run(run.process(list(records)))


def test_a_decision_is_stored_and_published_keyed_by_tenant_and_notification_id() -> None:
    feed, broker = Feed(), Broker()
    outcome = settle(processor(feed, broker), record(DECIDED))[0]
    assert outcome == Notified(notifications=2, newly_stored=2)
    published = broker.on("notifications")
    assert {n.recipient for n in feed.items.values()} == {SELLER, f"tenant:{TENANT}"}
    keys = {key for key, _, _ in published}
    assert keys == {f"{TENANT}:{nid}".encode() for nid in feed.items}
    for _, value, headers in published:
        env = schemas.decode(value, list(headers.items()))
        assert env.type == "notification.created" and env.causationid == json.loads(DECIDED)["id"]
    assert broker.on("pickup.cancel.decided.dlq") == []


def test_a_redelivered_decision_publishes_the_same_ids_and_stores_nothing_new() -> None:
    feed, broker = Feed(), Broker()
    run = processor(feed, broker)
    outcomes = [settle(run, record(DECIDED, offset=o))[0] for o in (7, 8, 9)]
    assert [o.newly_stored for o in outcomes if isinstance(o, Notified)] == [2, 0, 0]
    published = broker.on("notifications")
    assert len(published) == 6 and len({key for key, _, _ in published}) == 2
    # Byte-identical re-publishes: consumers of `notifications` may dedupe on id alone.
    assert len({value for _, value, _ in published}) == 2


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (b"\x00not json", "not_json"),
        (None, "not_json"),
        (b'{"specversion":"1.0","type":"pickup.exploded"}', "unknown_type"),
        (DECIDED.replace(b'"decision": "reject"', b'"decision": "maybe"'), "schema"),
    ],
)
def test_poison_goes_to_the_dlq_with_the_original_bytes_and_why(
    value: bytes | None, error: str
) -> None:
    feed, broker = Feed(), Broker()
    outcome = settle(processor(feed, broker), record(value, topic="pickup.events"))[0]
    assert isinstance(outcome, DeadLettered) and outcome.error == error
    ((key, dead, headers),) = broker.on("pickup.events.dlq")
    assert dead == (value or b"") and key == b"seller-clodeo-77:ORD"
    assert headers["lunas.error"] == error.encode()
    assert headers["lunas.service"] == b"notify"
    assert headers["lunas.original.topic"] == b"pickup.events"
    assert (headers["lunas.original.partition"], headers["lunas.original.offset"]) == (b"2", b"7")
    assert headers["lunas.original.timestamp"] == b"1714960000000"
    assert headers["content-type"] == schemas.CONTENT_TYPE_HEADER[1]
    assert feed.items == {} and broker.on("notifications") == []


def test_redis_down_is_retried_in_place_until_it_answers_never_dead_lettered() -> None:
    feed, broker, sleeps = Feed(down=3), Broker(), Sleeps()
    outcome = settle(processor(feed, broker, sleeps), record(DECIDED))[0]
    assert outcome == Notified(notifications=2, newly_stored=2)
    assert sleeps.calls == [0.5, 0.5, 0.5]
    assert len(feed.items) == 2 and broker.on("pickup.cancel.decided.dlq") == []


def test_broker_down_while_publishing_is_retried_and_nothing_is_lost() -> None:
    feed, broker, sleeps = Feed(), Broker(down=2), Sleeps()
    outcome = settle(processor(feed, broker, sleeps), record(DECIDED))[0]
    assert isinstance(outcome, Notified) and len(sleeps.calls) == 2
    # The notification stored before the failed publish is published on the retry.
    assert {key for key, _, _ in broker.on("notifications")} == {
        f"{TENANT}:{nid}".encode() for nid in feed.items
    }


def test_a_dlq_that_cannot_be_written_is_retried_not_skipped() -> None:
    feed, broker, sleeps = Feed(), Broker(down=1), Sleeps()
    outcome = settle(processor(feed, broker, sleeps), record(b"garbage"))[0]
    assert isinstance(outcome, DeadLettered) and len(sleeps.calls) == 1
    assert len(broker.on("pickup.cancel.decided.dlq")) == 1


def test_data_the_store_refuses_is_dead_lettered_with_the_cause() -> None:
    feed, broker = Feed(down=1, error=ValueError("unusable notification id")), Broker()
    outcome = settle(processor(feed, broker), record(DECIDED))[0]
    assert isinstance(outcome, DeadLettered) and outcome.error == "handler_error"
    ((_, _, headers),) = broker.on("pickup.cancel.decided.dlq")
    assert b"unusable notification id" in headers["lunas.error.detail"]


def test_stopping_during_an_outage_leaves_the_record_unsettled() -> None:
    async def scenario() -> None:
        feed, broker = Feed(down=10**6), Broker()
        run = BatchProcessor(ports(feed), broker, delays=no_delays, sleep=asyncio.sleep)
        task = asyncio.create_task(run.process([record(DECIDED)]))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert broker.sent == [] and feed.items == {}

    asyncio.run(scenario())


def test_a_shutdown_during_an_outage_gives_up_the_record_unsettled() -> None:
    feed, broker = Feed(down=10**6), Broker()
    stopping = {"now": False}

    async def sleep_then_stop(_seconds: float) -> None:
        stopping["now"] = True  # SIGTERM arrives while we wait for Redis

    run = BatchProcessor(
        ports(feed),
        broker,
        delays=no_delays,
        sleep=sleep_then_stop,
        stopping=lambda: stopping["now"],
    )
    with pytest.raises(Interrupted):
        asyncio.run(run.process([record(DECIDED)]))
    assert broker.sent == [] and feed.items == {}


def test_a_poison_records_log_lines_carry_its_own_coordinates_not_the_previous_ids(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from services.common.logging import configure_logging

    configure_logging("INFO", "json")
    feed, broker = Feed(), Broker()
    bad = DECIDED.replace(TENANT.encode(), b"\\ud800")  # a lone surrogate in tenantid
    good, outcome = settle(
        processor(feed, broker), record(DECIDED, offset=7), record(bad, offset=8)
    )
    assert isinstance(good, Notified)
    assert isinstance(outcome, DeadLettered) and outcome.error in ("invalid_text", "schema")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    (dead,) = [line for line in lines if line["event"] == "notify.dead_lettered"]
    assert dead["offset"] == 8 and dead["partition"] == 2
    assert "message_id" not in dead and "correlation_id" not in dead
    (batch,) = [line for line in lines if line["event"] == "notify.batch"]
    assert batch["records"] == 2 and batch["dead_lettered"] == 1 and batch["notifications"] == 2


@dataclass
class Counting(Feed):
    """A feed that counts its round trips and refuses any batch holding `refused`'s notes."""

    refused: str | None = None
    calls: int = 0

    async def add_all(self, notifications: Sequence[Notification]) -> list[bool]:
        self.calls += 1
        if any(n.recipient == self.refused for n in notifications):
            raise ValueError(f"unusable recipient {self.refused}")
        return await super().add_all(notifications)


@dataclass
class CountingBroker(Broker):
    batches: int = 0

    async def send_all(self, records: Sequence[Outgoing]) -> None:
        self.batches += 1
        await super().send_all(records)


def decided_for(seller: str, n: int) -> bytes:
    message = json.loads(DECIDED)
    message["id"] = f"{message['id']}-{n}"
    message["data"]["requested_by"] = seller
    return json.dumps(message).encode()


def test_a_batch_is_one_feed_write_and_one_produce_however_many_records() -> None:
    feed, broker = Counting(), CountingBroker()
    batch = [record(decided_for(SELLER, n), offset=n) for n in range(50)]
    batch.insert(20, record(b"garbage", offset=999))
    outcomes = settle(processor(feed, broker), *batch)
    assert feed.calls == 1 and broker.batches == 1
    assert [type(o) for o in outcomes].count(Notified) == 50
    assert isinstance(outcomes[20], DeadLettered)
    assert len(broker.on("notifications")) == len(feed.items) == 100
    assert len(broker.on("pickup.cancel.decided.dlq")) == 1


def test_a_record_the_store_refuses_is_dead_lettered_alone_and_the_rest_of_its_batch_settles() -> (
    None
):
    feed, broker = Counting(refused="user:refused"), Broker()
    batch = [record(decided_for(SELLER, n), offset=n) for n in range(7)]
    batch[4] = record(decided_for("user:refused", 4), offset=4)
    outcomes = settle(processor(feed, broker), *batch)
    dead = [i for i, o in enumerate(outcomes) if isinstance(o, DeadLettered)]
    assert dead == [4] and outcomes[4].error == "handler_error"  # type: ignore[union-attr]
    assert all(n.recipient != "user:refused" for n in feed.items.values())
    assert len(broker.on("notifications")) == len(feed.items) == 12
    ((_, _, headers),) = broker.on("pickup.cancel.decided.dlq")
    assert headers["lunas.original.offset"] == b"4"


def test_an_outage_mid_batch_retries_the_whole_batch_and_stores_each_notification_once() -> None:
    feed, broker, sleeps = Counting(), Broker(down=1), Sleeps()
    batch = [record(decided_for(SELLER, n), offset=n) for n in range(5)]
    outcomes = settle(processor(feed, broker, sleeps), *batch)
    assert len(sleeps.calls) == 1 and feed.calls == 2
    # The first attempt stored everything, then the broker failed: the retry stores nothing new
    # and publishes everything.
    assert [o.newly_stored for o in outcomes if isinstance(o, Notified)] == [0] * 5
    assert len(feed.items) == 10
    assert {k for k, _, _ in broker.on("notifications")} == {
        f"{TENANT}:{nid}".encode() for nid in feed.items
    }
