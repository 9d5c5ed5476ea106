"""``lunas replay`` against the broker: gather what planning needs, apply it, follow the group."""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaException, TopicPartition

from services.common.settings import Settings
from services.ops import kafka_io
from services.ops.kafka_io import OpsError
from services.ops.replay import (
    PartitionState,
    PlanError,
    ReplayPlan,
    Start,
    TimeProbe,
    follow_progress,
    offset_at_time,
    plan_offsets,
    trust_time_answer,
)


def partition_states(
    settings: Settings, group: str, topic: str, partition: int | None
) -> list[PartitionState]:
    adm = kafka_io.admin(settings)
    partitions = kafka_io.topic_partitions(adm, topic)
    if partition is not None:
        if partition not in partitions:
            raise PlanError(f"{topic} has no partition {partition} (it has {partitions})")
        partitions = [partition]
    tps = [(topic, p) for p in partitions]
    committed = kafka_io.committed_offsets(adm, group, tps)
    consumer = kafka_io.reader(settings)
    try:
        marks = kafka_io.watermarks(consumer, tps)
    finally:
        consumer.close()
    return [
        PartitionState(p, marks[(topic, p)][0], marks[(topic, p)][1], committed.get((topic, p)))
        for p in partitions
    ]


def _true_end(consumer: Consumer, topic: str, state: PartitionState) -> int:
    """The offset after the last record: read on from the (possibly low) watermark."""
    tail = kafka_io.read_records(consumer, {(topic, state.partition): state.high})
    return max([state.high, *(r.offset + 1 for r in tail)])


def build_plan(
    settings: Settings,
    group: str,
    topic: str,
    start: Start,
    *,
    offset: int | None = None,
    at_time_ms: int | None = None,
    partition: int | None = None,
) -> ReplayPlan:
    states = partition_states(settings, group, topic, partition)
    consumer = kafka_io.reader(settings)
    try:
        if start == "earliest":
            targets = {s.partition: s.low for s in states}
            return plan_offsets(group, topic, states, targets, "to the earliest offset")
        if start == "offset":
            assert offset is not None
            ends = {s.partition: _true_end(consumer, topic, s) for s in states if offset > s.high}
            targets = {s.partition: offset for s in states}
            return plan_offsets(
                group, topic, states, targets, f"from offset {offset}", true_ends=ends
            )
        assert at_time_ms is not None
        return _plan_by_time(consumer, group, topic, states, at_time_ms)
    finally:
        consumer.close()


def _plan_by_time(
    consumer: Consumer, group: str, topic: str, states: list[PartitionState], wanted_ms: int
) -> ReplayPlan:
    answers = consumer.offsets_for_times(
        [TopicPartition(topic, s.partition, wanted_ms) for s in states], timeout=15
    )
    answer_of = {tp.partition: tp.offset for tp in answers}
    targets: dict[int, int] = {}
    notes: dict[int, str] = {}
    ends: dict[int, int] = {}
    for s in states:
        answer = answer_of.get(s.partition, -1)
        probe = TimeProbe(
            answer,
            _timestamp(consumer, topic, s.partition, s.low),
            _timestamp(consumer, topic, s.partition, answer) if answer >= 0 else None,
            _timestamp(consumer, topic, s.partition, answer - 1) if answer > 0 else None,
        )
        if trust_time_answer(probe, wanted_ms, s.low):
            targets[s.partition] = answer
            notes[s.partition] = f"broker answered {answer}; checked against timestamps"
            continue
        scanned = kafka_io.read_records(consumer, {(topic, s.partition): s.low}, timeout=300)
        end = max([s.high, *(r.offset + 1 for r in scanned)])
        ends[s.partition] = end
        targets[s.partition] = offset_at_time(
            [(r.offset, r.timestamp_ms) for r in scanned], wanted_ms, end
        )
        notes[s.partition] = (
            f"broker answered {answer}, which the timestamps contradict; "
            f"scanned {len(scanned)} timestamps instead"
        )
    return plan_offsets(
        group, topic, states, targets, f"from time {wanted_ms} ms", notes=notes, true_ends=ends
    )


def _timestamp(consumer: Consumer, topic: str, partition: int, offset: int) -> int | None:
    record = kafka_io.read_one(consumer, topic, partition, offset)
    return None if record is None else record.timestamp_ms


def apply_plan(settings: Settings, plan: ReplayPlan) -> None:
    """Set the group's offsets; refused while the group has members (they would overwrite it)."""
    adm = kafka_io.admin(settings)
    info = kafka_io.describe_group(adm, plan.group)
    if info.active:
        who = ", ".join(info.members) or "members not listed by the broker"
        raise OpsError(
            f"group {plan.group} is {info.state} with active members ({who}); "
            "stop its service first, then replay"
        )
    try:
        kafka_io.alter_offsets(
            adm, plan.group, {(plan.topic, p): o for p, o in plan.new_offsets().items()}
        )
    except KafkaException as exc:
        # A member that joined after the check: the broker refuses, and says so.
        raise OpsError(f"the broker refused new offsets for {plan.group}: {exc}") from exc


def follow(
    settings: Settings,
    plan: ReplayPlan,
    on_progress: Callable[[int, int], None],
    timeout_s: float | None = None,
    interval_s: float = 1.0,
) -> bool:
    """Report the group's progress back to where it was; True once it got there."""
    adm = kafka_io.admin(settings)
    tps = [(plan.topic, p.partition) for p in plan.partitions]
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        committed = kafka_io.committed_offsets(adm, plan.group, tps)
        done, total = follow_progress(plan, {p: o for (_, p), o in committed.items()})
        on_progress(done, total)
        if done >= total:
            return True
        if deadline is not None and time.monotonic() > deadline:
            return False
        time.sleep(interval_s)
