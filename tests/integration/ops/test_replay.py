"""``lunas replay`` against a real broker: the plan, time ranges despite the broker's answers,
the refusal while the group runs, and offsets actually moved."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from confluent_kafka import Consumer, Producer

from schemas import topics
from services.common.settings import Settings
from services.ops import replay_run
from services.ops.replay import ReplayPlan
from tests.integration.ops.helpers import commit, committed, create_topics, lunas, lunas_json

pytestmark = pytest.mark.integration
GROUP = "lunas.payment"
TOPIC = topics.PAYMENT_COMMANDS
T0 = 1_750_000_000_000  # message i has timestamp T0 + i s


def fill(bootstrap: str, count: int = 10) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for i in range(count):
        producer.produce(TOPIC, value=f"m{i}".encode(), partition=0, timestamp=T0 + i * 1000)
        if i % 4 == 3:
            producer.flush(30)  # several batches: the watermark reads low by the last one
    assert producer.flush(30) == 0


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


@pytest.fixture
def bootstrap(test_settings: Settings) -> str:
    create_topics(test_settings)
    assert test_settings.kafka_bootstrap_servers
    fill(test_settings.kafka_bootstrap_servers)
    commit(test_settings.kafka_bootstrap_servers, GROUP, TOPIC, 0, 9)
    return test_settings.kafka_bootstrap_servers


def test_dry_run_shows_the_plan_and_moves_nothing(test_settings: Settings, bootstrap: str) -> None:
    plan = lunas_json(
        test_settings, "replay", "--group", GROUP, "--topic", TOPIC,
        "--from-offset", "3", "--partition", "0", "--dry-run",
    )  # fmt: skip
    (row,) = plan["partitions"]
    assert (row["committed"], row["new_offset"], row["to_replay"]) == (9, 3, 6)
    assert committed(bootstrap, GROUP, TOPIC, 0) == 9


def test_replay_from_a_time_finds_the_offset_by_timestamps(
    test_settings: Settings, bootstrap: str
) -> None:
    # The embedded broker answers offsets_for_times with 0; the plan must not replay everything.
    plan = lunas_json(
        test_settings, "replay", "--group", GROUP, "--topic", TOPIC,
        "--from-time", iso(T0 + 5_500), "--partition", "0",
    )  # fmt: skip
    (row,) = plan["partitions"]
    assert row["new_offset"] == 6
    assert row["to_replay"] == 3
    assert committed(bootstrap, GROUP, TOPIC, 0) == 6


def test_a_time_after_the_last_message_goes_to_the_true_end(
    test_settings: Settings, bootstrap: str
) -> None:
    plan = lunas_json(
        test_settings, "replay", "--group", GROUP, "--topic", TOPIC,
        "--from-time", iso(T0 + 60_000), "--partition", "0", "--dry-run",
    )  # fmt: skip
    # Ten messages: the end is 10, whatever the (low-reading) watermark says.
    assert plan["partitions"][0]["new_offset"] == 10


def test_moving_forward_is_refused_unless_allowed(test_settings: Settings, bootstrap: str) -> None:
    args = ["replay", "--group", GROUP, "--topic", TOPIC, "--from-offset", "10", "--partition", "0"]
    refused = lunas(test_settings, *args)
    assert refused.exit_code == 1
    assert "skip" in refused.stderr
    assert committed(bootstrap, GROUP, TOPIC, 0) == 9


def test_a_running_group_is_not_touched(test_settings: Settings, bootstrap: str) -> None:
    member = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": GROUP,
            "session.timeout.ms": test_settings.kafka_session_timeout_ms,
            "enable.auto.commit": False,
        }
    )
    member.subscribe([TOPIC])
    deadline = time.monotonic() + 30
    while not member.assignment() and time.monotonic() < deadline:
        member.poll(0.2)
    try:
        result = lunas(test_settings, "replay", "--group", GROUP, "--topic", TOPIC, "--to-earliest")
    finally:
        member.close()
    assert result.exit_code == 1
    assert "active member" in result.stderr
    assert committed(bootstrap, GROUP, TOPIC, 0) == 9


def test_to_earliest_then_follow_until_the_group_is_back(
    test_settings: Settings, bootstrap: str
) -> None:
    plan: ReplayPlan = replay_run.build_plan(test_settings, GROUP, TOPIC, "earliest", partition=0)
    replay_run.apply_plan(test_settings, plan)
    assert committed(bootstrap, GROUP, TOPIC, 0) == 0

    seen: list[tuple[int, int]] = []
    assert not replay_run.follow(test_settings, plan, lambda d, t: seen.append((d, t)), 0.5, 0.1)
    commit(bootstrap, GROUP, TOPIC, 0, 9)  # as the service would, having consumed again
    assert replay_run.follow(test_settings, plan, lambda d, t: seen.append((d, t)), 10, 0.1)
    assert seen[0] == (0, 9)
    assert seen[-1] == (9, 9)
