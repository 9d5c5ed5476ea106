"""``lunas status``: groups' offsets and lag, outbox backlog, commands waiting, DLQ counts, inbox
outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from confluent_kafka import KafkaException
from psycopg import sql

from services.common.settings import Settings
from services.ops import kafka_io
from services.ops.kafka_io import TP
from services.ops.services import SERVICES

# Which topics each service's group consumes, and the services' Postgres schemas: from their
# ServiceSpecs (docs/ARCHITECTURE.md "One service").
GROUP_TOPICS: dict[str, tuple[str, ...]] = {s.group_id: s.reads for s in SERVICES}
SCHEMAS = tuple(s.schema for s in SERVICES if s.schema is not None)
LAG_CAVEAT = (
    "approximate: the broker's high watermark can read low by up to a batch, "
    "so a lag of 0 does not prove a group is caught up"
)


def group_rows(committed: Mapping[TP, int | None], highs: Mapping[TP, int]) -> list[dict[str, Any]]:
    """Per partition: committed offset, approximate end and lag (None where nothing committed)."""
    rows = []
    for tp in sorted(set(committed) | set(highs)):
        offset, high = committed.get(tp), highs.get(tp)
        lag = None if offset is None or high is None else max(0, high - offset)
        rows.append(
            {
                "topic": tp[0],
                "partition": tp[1],
                "committed": offset,
                "high_approximate": high,
                "lag_approximate": lag,
            }
        )
    return rows


def kafka_status(settings: Settings) -> dict[str, Any]:
    adm = kafka_io.admin(settings)
    existing = set(kafka_io.existing_topics(adm))
    consumer = kafka_io.reader(settings)
    try:
        groups: dict[str, Any] = {}
        for group, wanted in GROUP_TOPICS.items():
            tps = [
                (t, p) for t in wanted if t in existing for p in kafka_io.topic_partitions(adm, t)
            ]
            committed = kafka_io.committed_offsets(adm, group, tps) if tps else {}
            highs = {tp: hw for tp, (_, hw) in kafka_io.watermarks(consumer, tps).items()}
            info = kafka_io.describe_group(adm, group)
            rows = group_rows(committed, highs)
            groups[group] = {
                "state": info.state,
                "members": list(info.members),
                "lag_approximate": sum(r["lag_approximate"] or 0 for r in rows),
                "partitions": rows,
            }
        dlq_names = sorted(t for t in existing if t.endswith(".dlq"))
        letters = _count_letters(consumer, adm, dlq_names)
    finally:
        consumer.close()
    return {"groups": groups, "lag_note": LAG_CAVEAT, "dlq": letters}


def _count_letters(consumer: Any, adm: Any, names: list[str]) -> dict[str, int]:
    # Counted by reading, not from watermarks, which can read low.
    starts = {(n, p): 0 for n in names for p in kafka_io.topic_partitions(adm, n)}
    counts = dict.fromkeys(names, 0)
    for record in kafka_io.read_records(consumer, starts):
        counts[record.topic] += 1
    return counts


def database_status(dsn: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for schema in SCHEMAS:
            found[schema] = _schema_status(conn, schema)
    return found


def _schema_status(conn: psycopg.Connection[Any], schema: str) -> dict[str, Any]:
    present = conn.execute("SELECT to_regclass(%s)", (f"{schema}.outbox",)).fetchone()
    if present is None or present[0] is None:
        return {"migrated": False}
    ident = sql.Identifier(schema)
    backlog = conn.execute(
        sql.SQL(
            "SELECT count(*), EXTRACT(EPOCH FROM now() - min(created_at))"
            " FROM {}.outbox WHERE sent_at IS NULL"
        ).format(ident)
    ).fetchone()
    assert backlog is not None
    outcomes = conn.execute(
        sql.SQL("SELECT outcome, count(*) FROM {}.inbox GROUP BY outcome ORDER BY outcome").format(
            ident
        )
    ).fetchall()
    waiting = conn.execute(
        sql.SQL(
            "SELECT count(*), EXTRACT(EPOCH FROM now() - min(created_at)) FROM {}.waiting"
        ).format(ident)
    ).fetchone()
    assert waiting is not None
    return {
        "migrated": True,
        "waiting": int(waiting[0]),
        "waiting_oldest_age_s": None if waiting[1] is None else round(float(waiting[1]), 1),
        "outbox_unsent": int(backlog[0]),
        "outbox_oldest_unsent_age_s": None if backlog[1] is None else round(float(backlog[1]), 1),
        "inbox_by_outcome": {outcome: int(n) for outcome, n in outcomes},
    }


def collect(settings: Settings) -> dict[str, Any]:
    """The whole status; a part that cannot be reached is reported as an error, not raised."""
    report: dict[str, Any] = {}
    try:
        report["kafka"] = kafka_status(settings)
    except (RuntimeError, KafkaException) as exc:
        report["kafka"] = {"error": str(exc)}
    try:
        report["database"] = database_status(settings.database_dsn())
    except (RuntimeError, psycopg.Error) as exc:
        report["database"] = {"error": str(exc)}
    return report
