"""Existing topics checked against the settings: `lunas status` and `verify` name the topic and
the fix, `lunas topics --fix` raises what the broker can raise."""

from __future__ import annotations

import json
from typing import Any

import pytest
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)
from typer.testing import CliRunner

from schemas import topics
from services.common.migrations import migrate_all
from services.common.settings import Settings
from services.common.topics import DAY_MS, check_topics
from services.ops.cli import app
from tests.fixtures.infra import external_broker
from tests.integration.ops.helpers import env_of

pytestmark = pytest.mark.integration


def run(settings: Settings, *args: str, code: int = 0) -> Any:
    env = {**env_of(settings), "LUNAS_TOPIC_PARTITIONS": str(settings.topic_partitions)}
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return json.loads(result.stdout)


def shorten_retention(settings: Settings, topic: str, ms: int) -> None:
    entry = ConfigEntry("retention.ms", str(ms), incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[entry])
    admin = AdminClient(settings.kafka_config())
    for future in admin.incremental_alter_configs([resource]).values():
        future.result()


def test_short_retention_and_few_partitions_are_named_with_the_fix(
    request: pytest.FixtureRequest, test_settings: Settings
) -> None:
    migrate_all(test_settings.database_dsn())
    assert run(test_settings, "topics")["problems"] == []
    shorten_retention(test_settings, topics.PAYMENT_EVENTS, DAY_MS)
    more = test_settings.topic_partitions + 2
    wanted = test_settings.model_copy(update={"topic_partitions": more})

    retention = (
        f"{topics.PAYMENT_EVENTS}: retention 1 d, LUNAS_TOPIC_RETENTION_EVENTS_MS is 90 d; "
        "fix: lunas topics --fix"
    )
    partitions = (
        f"{topics.PICKUP_COMMANDS}: {test_settings.topic_partitions} partitions, "
        f"LUNAS_TOPIC_PARTITIONS is {wanted.topic_partitions}; fix: lunas topics --fix"
    )
    status = run(wanted, "status", "--json")["kafka"]["topic_problems"]
    assert retention in status and partitions in status
    report = run(wanted, "verify", "--json")
    assert report["ok"] is True  # a topic problem is a warning: no invariant is broken
    assert f"topic {retention}" in report["warnings"]
    assert f"topic {partitions}" in report["warnings"]

    if external_broker(request.config):  # Apache Kafka raises partitions and retention
        fixed = run(wanted, "topics", "--fix")
        assert f"{topics.PAYMENT_EVENTS}: retention set to 90 d" in fixed["changed"]
        assert fixed["refused"] == [] and fixed["problems"] == []
        assert check_topics(wanted) == []
    else:  # the embedded broker has no CreatePartitions: said, and the exit status says so
        fixed = run(wanted, "topics", "--fix", code=1)
        assert f"{topics.PAYMENT_EVENTS}: retention set to 90 d" in fixed["changed"]
        refused = f"{topics.PICKUP_COMMANDS}: not changed"
        assert any(line.startswith(refused) for line in fixed["refused"])
        assert not any("retention" in p for p in fixed["problems"])
