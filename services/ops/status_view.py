"""``lunas status`` for people: the report of ``status.collect`` as tables."""

from __future__ import annotations

from typing import Any

from services.ops import console


def show_status(report: dict[str, Any]) -> None:
    kafka, database = report["kafka"], report["database"]
    if "error" in kafka:
        console.line(f"kafka: unreachable: {kafka['error']}")
    else:
        _show_groups(kafka)
        console.table(
            "dead letters",
            ["topic", "messages"],
            [[name, count] for name, count in kafka["dlq"].items()],
        )
    if "error" in database:
        console.line(f"database: unreachable: {database['error']}")
        return
    rows = []
    for schema, found in database.items():
        if not found["migrated"]:
            rows.append([schema, "not migrated", None, None, None, None])
            continue
        outcomes = ", ".join(f"{k}={v}" for k, v in found["inbox_by_outcome"].items())
        rows.append(
            [
                schema,
                found["outbox_unsent"],
                found["outbox_oldest_unsent_age_s"],
                found["waiting"],
                found["waiting_oldest_age_s"],
                outcomes or "-",
            ]
        )
    console.table(
        "database",
        [
            "schema",
            "outbox unsent",
            "oldest unsent (s)",
            "waiting",
            "oldest waiting (s)",
            "inbox by outcome",
        ],
        rows,
    )


def _show_groups(kafka: dict[str, Any]) -> None:
    rows = []
    for group, found in kafka["groups"].items():
        for p in found["partitions"]:
            rows.append(
                [
                    group,
                    found["state"],
                    len(found["members"]),
                    f"{p['topic']}/{p['partition']}",
                    p["committed"],
                    p["lag_approximate"],
                ]
            )
        if not found["partitions"]:
            rows.append([group, found["state"], len(found["members"]), "-", None, None])
    console.table(
        "consumer groups", ["group", "state", "members", "partition", "committed", "lag ~"], rows
    )
    console.line(f"lag is {kafka['lag_note']}")
