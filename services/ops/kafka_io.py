"""Kafka clients and reads for the operators' tools: reading topics "to the end" safely.

The embedded broker's high watermark can read low by up to a batch, so a read is finished only
when polls have been quiet for a while AND every partition's position reached the watermark.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from services.common.runtime.records import Record
from services.common.runtime.service import producer_conf
from services.common.settings import Settings

TIMEOUT_S = 15.0
QUIET_S = 1.0
UNSET_OFFSET = -1001  # librdkafka's OFFSET_INVALID: no committed offset


class OpsError(RuntimeError):
    """A failure an operator must see: the command stops and exits non-zero."""


TP = tuple[str, int]


def admin(settings: Settings) -> AdminClient:
    return AdminClient(settings.kafka_config())


def producer(settings: Settings) -> Producer:
    """Idempotent, acks=all: a retried send never duplicates within one producer session."""
    return Producer(producer_conf(settings))


def reader(settings: Settings, group_id: str | None = None) -> Consumer:
    """A consumer used by assignment only; it commits only when ``group_id`` is given."""
    return Consumer(
        {
            **settings.kafka_config(),
            "group.id": group_id or f"lunas.ops.reader.{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            "session.timeout.ms": settings.kafka_session_timeout_ms,
        }
    )


def topic_partitions(adm: AdminClient, topic: str, timeout: float = TIMEOUT_S) -> list[int]:
    """The partition ids of ``topic``; `OpsError` if it does not exist."""
    meta = adm.list_topics(topic=topic, timeout=timeout).topics.get(topic)
    if meta is None or meta.error is not None or not meta.partitions:
        raise OpsError(f"topic {topic!r} does not exist")
    return sorted(meta.partitions)


def existing_topics(adm: AdminClient, timeout: float = TIMEOUT_S) -> list[str]:
    return sorted(adm.list_topics(timeout=timeout).topics)


def watermarks(
    consumer: Consumer, tps: Iterable[TP], timeout: float = TIMEOUT_S
) -> dict[TP, tuple[int, int]]:
    """(low, high) per partition; ``high`` is approximate on the embedded broker (reads low)."""
    found: dict[TP, tuple[int, int]] = {}
    for topic, partition in tps:
        low, high = consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=timeout, cached=False
        )
        found[(topic, partition)] = (int(low), int(high))
    return found


@dataclass(frozen=True)
class ReadState:
    """Where a read stands: next offset per partition, watermarks, time since the last record."""

    next_offsets: Mapping[TP, int]
    highs: Mapping[TP, int]
    stops: Mapping[TP, int | None]
    quiet_for_s: float
    quiet_s: float


def read_finished(state: ReadState) -> bool:
    """Finished when every partition reached its stop, or when reads are quiet AND at the watermark.

    Neither the watermark alone (it can read low) nor quiet alone (a slow fetch) is enough.
    """
    pending = [
        tp for tp, stop in state.stops.items() if stop is None or state.next_offsets[tp] < stop
    ]
    if not pending:
        return True
    at_mark = all(state.next_offsets[tp] >= state.highs[tp] for tp in pending)
    return at_mark and state.quiet_for_s >= state.quiet_s


def read_records(
    consumer: Consumer,
    starts: Mapping[TP, int],
    *,
    stops: Mapping[TP, int | None] | None = None,
    quiet_s: float = QUIET_S,
    timeout: float = 60.0,
) -> list[Record]:
    """Read each partition from its start to its stop (exclusive) or to the end, by assignment."""
    if not starts:
        return []
    stop_at: dict[TP, int | None] = {tp: (stops or {}).get(tp) for tp in starts}
    marks = watermarks(consumer, starts)
    next_offsets = {tp: max(start, marks[tp][0]) for tp, start in starts.items()}
    consumer.assign([TopicPartition(t, p, o) for (t, p), o in next_offsets.items()])
    records: list[Record] = []
    deadline = time.monotonic() + timeout
    last_seen = time.monotonic()
    try:
        while True:
            state = ReadState(
                next_offsets,
                {tp: m[1] for tp, m in marks.items()},
                stop_at,
                time.monotonic() - last_seen,
                quiet_s,
            )
            if read_finished(state):
                return records
            if time.monotonic() > deadline:
                raise OpsError(f"could not read {sorted(starts)} to the end within {timeout:.0f} s")
            batch = consumer.consume(num_messages=500, timeout=min(0.25, quiet_s))
            for msg in batch:
                err = msg.error()
                if err is not None:
                    if err.fatal() or err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                        raise OpsError(f"reading failed: {err}")
                    continue
                record = Record.of(msg)
                tp = (record.topic, record.partition)
                next_offsets[tp] = max(next_offsets[tp], record.offset + 1)
                stop = stop_at[tp]
                if stop is None or record.offset < stop:
                    records.append(record)
            if batch:
                last_seen = time.monotonic()
            elif state.quiet_for_s >= quiet_s:
                # Quiet but short of the watermark: the broker may have moved it; ask again.
                marks = watermarks(consumer, starts)
    finally:
        consumer.unassign()


def read_one(consumer: Consumer, topic: str, partition: int, offset: int) -> Record | None:
    """The record at ``topic/partition/offset``, or None if there is none."""
    tp = (topic, partition)
    found = read_records(consumer, {tp: offset}, stops={tp: offset + 1}, timeout=20.0)
    return next((r for r in found if r.offset == offset), None)


def committed_offsets(
    adm: AdminClient, group: str, tps: Sequence[TP] | None = None, timeout: float = TIMEOUT_S
) -> dict[TP, int | None]:
    """The group's committed offsets (None: nothing committed); all of them when ``tps`` is None."""
    request = ConsumerGroupTopicPartitions(
        group, [TopicPartition(t, p) for t, p in tps] if tps is not None else None
    )
    futures = adm.list_consumer_group_offsets([request], request_timeout=timeout)
    result = futures[group].result()
    found: dict[TP, int | None] = {}
    for tp in result.topic_partitions or []:
        if tp.error is not None:
            raise OpsError(f"committed offset of {group} on {tp.topic}/{tp.partition}: {tp.error}")
        found[(tp.topic, tp.partition)] = tp.offset if tp.offset >= 0 else None
    return found


ACTIVE_STATES = frozenset({"stable", "preparing_rebalancing", "completing_rebalancing"})


@dataclass(frozen=True)
class GroupInfo:
    group: str
    state: str
    members: tuple[str, ...]

    @property
    def active(self) -> bool:
        # The embedded broker describes a running group as "stable" with no members listed.
        return bool(self.members) or self.state in ACTIVE_STATES


def describe_group(adm: AdminClient, group: str, timeout: float = TIMEOUT_S) -> GroupInfo:
    """State and members (client id @ host) of a consumer group; an unknown group is empty."""
    futures = adm.describe_consumer_groups([group], request_timeout=timeout)
    try:
        desc = futures[group].result()
    except KafkaException as exc:
        if exc.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND:
            return GroupInfo(group, "dead", ())
        raise
    members = tuple(f"{m.client_id}@{m.host}" for m in desc.members or [])
    state = str(getattr(desc.state, "name", desc.state)).lower()
    return GroupInfo(group, state, members)


def alter_offsets(
    adm: AdminClient, group: str, offsets: Mapping[TP, int], timeout: float = TIMEOUT_S
) -> None:
    """Set the group's committed offsets (the group must have no active members)."""
    request = ConsumerGroupTopicPartitions(
        group, [TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())]
    )
    futures = adm.alter_consumer_group_offsets([request], request_timeout=timeout)
    result = futures[group].result()
    for tp in result.topic_partitions or []:
        if tp.error is not None:
            raise OpsError(
                f"the broker refused the offset of {group} on {tp.topic}/{tp.partition}: "
                f"{tp.error} (does the group have active members?)"
            )


@dataclass(frozen=True)
class Delivery:
    """Where one message landed, or why it did not."""

    error: str | None
    partition: int | None = None
    offset: int | None = None


def deliver(
    prod: Producer,
    messages: Sequence[tuple[str, bytes | None, bytes, Sequence[tuple[str, bytes]]]],
    timeout: float = 30.0,
) -> list[str | None]:
    """Send (topic, key, value, headers) in order; per message None when delivered, else why not."""
    return [d.error for d in deliver_located(prod, messages, timeout)]


def deliver_located(
    prod: Producer,
    messages: Sequence[tuple[str, bytes | None, bytes, Sequence[tuple[str, bytes]]]],
    timeout: float = 30.0,
) -> list[Delivery]:
    """Send (topic, key, value, headers) in order; per message its partition and offset."""
    outcomes = [Delivery("not delivered before the timeout")] * len(messages)

    def on_delivery(index: int) -> Any:
        def report(err: KafkaError | None, msg: Any) -> None:
            outcomes[index] = (
                Delivery(None, msg.partition(), msg.offset()) if err is None else Delivery(str(err))
            )

        return report

    for index, (topic, key, value, headers) in enumerate(messages):
        while True:
            try:
                prod.produce(
                    topic,
                    value=value,
                    key=key,
                    headers=list(headers),
                    on_delivery=on_delivery(index),
                )
                break
            except BufferError:
                prod.poll(0.5)  # the local queue is full: let deliveries drain, then retry
    prod.flush(timeout)
    return outcomes
