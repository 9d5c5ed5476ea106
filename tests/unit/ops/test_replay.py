"""Planning a replay: offsets per partition, the check of the broker's time answers, progress."""

from __future__ import annotations

import pytest

from services.ops.replay import (
    PartitionState,
    PlanError,
    TimeProbe,
    follow_progress,
    offset_at_time,
    parse_time,
    plan_offsets,
    trust_time_answer,
)

STATES = [
    PartitionState(0, 0, 100, 80),
    PartitionState(1, 10, 50, None),
    PartitionState(2, 0, 30, 30),
]


def test_parse_time_needs_a_zone() -> None:
    assert parse_time("2023-08-22T00:00:00Z") == 1_692_662_400_000
    assert parse_time("2023-08-22T07:00:00+07:00") == 1_692_662_400_000
    with pytest.raises(PlanError, match="time zone"):
        parse_time("2023-08-22T07:00:00")
    with pytest.raises(PlanError, match="ISO 8601"):
        parse_time("yesterday")


def test_plan_counts_messages_to_replay_per_partition() -> None:
    plan = plan_offsets("lunas.payment", "payment.commands", STATES, {0: 20, 1: 20, 2: 20}, "x")
    rows = {p.partition: (p.committed, p.new_offset, p.to_replay) for p in plan.partitions}
    assert rows == {0: (80, 20, 60), 1: (None, 20, None), 2: (30, 20, 10)}
    assert plan.total_to_replay() == 70
    assert plan.skips() == []


def test_targets_outside_the_log_are_clamped_and_said() -> None:
    plan = plan_offsets("g", "t", STATES, {0: 500, 1: 0}, "x", true_ends={0: 104})
    first, second = plan.partitions
    assert (first.new_offset, second.new_offset) == (104, 10)
    assert "past the log end" in (first.note or "")
    assert "before the log start" in (second.note or "")


def test_moving_forward_is_visible_as_a_skip() -> None:
    plan = plan_offsets("g", "t", STATES, {0: 90}, "x")
    assert [p.partition for p in plan.skips()] == [0]
    assert plan.partitions[0].to_replay == -10


def test_a_missing_partition_is_an_error() -> None:
    with pytest.raises(PlanError):
        plan_offsets("g", "t", STATES, {7: 0}, "x")


def test_the_embedded_brokers_zero_for_a_later_time_is_not_trusted() -> None:
    # Measured on Tansu: offsets_for_times answered 0 for a time after the first message.
    wanted = 5_000
    assert not trust_time_answer(TimeProbe(0, 1_000, 1_000, None), wanted, low=0)
    assert trust_time_answer(TimeProbe(0, 6_000, 6_000, None), wanted, low=0)


def test_a_positive_answer_is_trusted_only_if_the_timestamps_around_it_agree() -> None:
    wanted = 5_000
    assert trust_time_answer(TimeProbe(7, 1_000, 5_000, 4_999), wanted, low=0)
    assert not trust_time_answer(TimeProbe(7, 1_000, 4_000, 3_000), wanted, low=0)
    assert not trust_time_answer(TimeProbe(7, 1_000, 6_000, 5_500), wanted, low=0)
    assert not trust_time_answer(TimeProbe(-1, 1_000, None, None), wanted, low=0)


def test_scan_finds_the_first_record_at_or_after_the_time() -> None:
    scanned = [(10, 1_000), (11, 2_000), (12, None), (13, 3_000), (14, 2_500)]
    assert offset_at_time(scanned, 2_000, end=15) == 11
    assert offset_at_time(scanned, 2_700, end=15) == 13
    assert offset_at_time(scanned, 9_000, end=15) == 15
    assert offset_at_time([], 9_000, end=4) == 4


def test_follow_progress_counts_back_to_where_the_group_was() -> None:
    plan = plan_offsets("g", "t", STATES, {0: 20, 1: 20, 2: 20}, "x")
    # partition 1 had nothing committed: its goal is the (approximate) end, 50.
    assert follow_progress(plan, {}) == (0, 60 + 30 + 10)
    assert follow_progress(plan, {0: 50, 1: 20, 2: 30}) == (30 + 0 + 10, 100)
    assert follow_progress(plan, {0: 90, 1: 60, 2: 30}) == (100, 100)


def test_a_partition_without_a_commit_says_so() -> None:
    plan = plan_offsets("g", "t", STATES, {1: 20}, "x")
    assert plan.partitions[0].note == "nothing committed before"
