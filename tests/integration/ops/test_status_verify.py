"""``lunas status`` and ``lunas verify`` on a migrated database and a real broker."""

from __future__ import annotations

import psycopg
import pytest
from pydantic import SecretStr

from schemas import topics
from services.common.migrations import migrate_all
from services.common.settings import Settings
from tests.integration.ops.helpers import commit, create_topics, lunas, lunas_json
from tests.integration.ops.test_dlq import park

pytestmark = pytest.mark.integration


@pytest.fixture
def migrated(test_settings: Settings) -> Settings:
    migrate_all(test_settings.database_dsn())
    create_topics(test_settings)
    return test_settings


def add_rows(dsn: str, *, outcome: str, outbox_age: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO payment.inbox (consumer, tenant_id, source, message_id, content_hash,"
            " message_type, outcome, topic, kafka_partition, kafka_offset)"
            " VALUES ('payment', 't1', '/x', 'm1', 'h', 'payment.cancel', %s,"
            " 'payment.commands', 0, 0)",
            (outcome,),
        )
        conn.execute(
            "INSERT INTO payment.outbox (topic, event_id, msg_key, msg_value, shard, created_at)"
            " VALUES ('payment.events', 'e1', 'k', 'v', 0, now() - %s::interval)",
            (outbox_age,),
        )


def test_status_of_an_empty_system(migrated: Settings) -> None:
    report = lunas_json(migrated, "status")

    assert report["database"]["payment"] == {
        "migrated": True,
        "waiting": 0,
        "waiting_oldest_age_s": None,
        "outbox_unsent": 0,
        "outbox_oldest_unsent_age_s": None,
        "inbox_by_outcome": {},
    }
    assert report["kafka"]["dlq"] == {topics.dlq_topic(t): 0 for t in topics.ALL_TOPICS}
    assert set(report["kafka"]["groups"]) == {"lunas.payment", "lunas.pickup", "lunas.notify"}
    assert "approximate" in report["kafka"]["lag_note"]


def test_status_counts_backlog_letters_outcomes_and_lag(migrated: Settings) -> None:
    bootstrap = migrated.kafka_bootstrap_servers
    assert bootstrap
    add_rows(migrated.database_dsn(), outcome="rejected:not_found", outbox_age="90 seconds")
    park(bootstrap, [(1, b"{}"), (2, b"{}")])
    commit(bootstrap, "lunas.payment", topics.PAYMENT_COMMANDS, 0, 0)

    report = lunas_json(migrated, "status")

    payment = report["database"]["payment"]
    assert payment["outbox_unsent"] == 1
    assert payment["outbox_oldest_unsent_age_s"] >= 90
    assert payment["inbox_by_outcome"] == {"rejected:not_found": 1}
    assert report["kafka"]["dlq"][topics.dlq_topic(topics.PAYMENT_COMMANDS)] == 2
    rows = report["kafka"]["groups"]["lunas.payment"]["partitions"]
    assert {"topic": topics.PAYMENT_COMMANDS, "partition": 0}.items() <= rows[0].items()
    assert rows[0]["committed"] == 0

    detail = lunas(migrated, "status", "--partitions")
    assert detail.exit_code == 0, detail.output
    assert "rejected:not_found=1" in detail.stdout
    compact = lunas(migrated, "status")  # one row per group: its dead letters counted
    (payment_row,) = [line for line in compact.stdout.splitlines() if "lunas.payment" in line]
    assert [cell.strip() for cell in payment_row.strip("│ ").split("│")][5] == "2"


def test_status_reports_an_unreachable_database(test_settings: Settings) -> None:
    create_topics(test_settings)
    broken = test_settings.model_copy(
        update={"database_url": SecretStr("postgresql://nobody@127.0.0.1:1/none")}
    )
    report = lunas_json(broken, "status", code=1)
    assert "error" in report["database"]
    assert "groups" in report["kafka"]


def test_verify_an_empty_system_is_ok_with_a_digest(migrated: Settings) -> None:
    report = lunas_json(migrated, "verify")
    again = lunas_json(migrated, "verify")
    assert report["ok"] is True
    assert report["violations"] == []
    assert report["warnings"] == []
    # Both services' own digests are part of it (their verify modules are installed).
    assert set(report["digests"]) == {"payment", "pickup"}
    assert all(report["digests"].values())
    assert len(report["digest"]) == 64
    assert report["digest"] == again["digest"]


def test_verify_flags_unsettled_inbox_rows_and_warns_on_a_stuck_outbox(
    migrated: Settings,
) -> None:
    add_rows(migrated.database_dsn(), outcome="pending", outbox_age="10 minutes")

    report = lunas_json(migrated, "verify", code=1)

    assert report["ok"] is False
    assert any("payment: 1 inbox row(s)" in v for v in report["violations"])
    assert any("unsent for over 5 minutes" in w for w in report["warnings"])


def test_verify_an_unmigrated_database_fails(test_settings: Settings) -> None:
    result = lunas(test_settings, "verify")
    assert result.exit_code == 1
    assert "not migrated" in result.stdout
