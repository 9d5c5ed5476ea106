"""``lunas status`` for people: the report of ``status.collect`` as tables."""

from __future__ import annotations

import sys
from typing import Any

from services.ops import console

# Which service (database schema) and dead-letter topics belong to each group.
GROUP_PARTS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "lunas.payment": ("payment", ("payment.commands.dlq",)),
    "lunas.pickup": ("pickup", ("pickup.commands.dlq", "pickup.cancel.requested.dlq")),
    "lunas.notify": (
        None,
        ("pickup.cancel.decided.dlq", "pickup.events.dlq", "payment.events.dlq"),
    ),
}


def compact_rows(report: dict[str, Any]) -> list[list[Any]]:
    """Per group: state, members, total lag, commands waiting, dead letters, outbox unsent."""
    kafka, database = report["kafka"], report["database"]
    rows = []
    for group, found in kafka.get("groups", {}).items():
        schema, dlqs = GROUP_PARTS.get(group, (None, ()))
        db = database.get(schema, {}) if schema and "error" not in database else {}
        rows.append([group, found["state"], len(found["members"]), found["lag_approximate"],
                     db.get("waiting"), sum(kafka["dlq"].get(t, 0) for t in dlqs),
                     db.get("outbox_unsent")])  # fmt: skip
    return rows


def _style(column: str, value: Any) -> str:
    if value is None:
        return "dim"
    if column == "state":
        return "green" if value == "stable" else "yellow"
    if column in {"dead letters"}:
        return "bold red" if value else "green"
    if column in {"lag ~", "waiting", "outbox unsent"}:
        return "yellow" if value else "green"
    return ""


def show_compact(report: dict[str, Any]) -> None:
    """One row per group; colour says what needs a look (red: dead letters, yellow: backlog)."""
    from rich.console import Console
    from rich.table import Table

    kafka, database = report["kafka"], report["database"]
    if "error" in kafka:
        console.line(f"kafka: unreachable: {kafka['error']}")
        return
    columns = ["group", "state", "members", "lag ~", "waiting", "dead letters", "outbox unsent"]
    grid = Table(title="lunas status (--partitions for the detail)", title_justify="left")
    for column in columns:
        grid.add_column(column)
    for row in compact_rows(report):
        grid.add_row(*[f"[{_style(c, v)}]{'-' if v is None else v}[/]" if _style(c, v) else
                       str(v) for c, v in zip(columns, row, strict=True)])  # fmt: skip
    # A terminal gets colour at its width; a pipe a plain table wide enough not to wrap.
    Console(width=None if sys.stdout.isatty() else 200).print(grid)
    if "error" in database:
        console.line(f"database: unreachable: {database['error']}")
    console.line(f"lag is {kafka['lag_note']}")
    show_topic_problems(kafka)


def show_topic_problems(kafka: dict[str, Any]) -> None:
    """Existing topics with fewer partitions or a shorter retention than configured."""
    for problem in kafka.get("topic_problems", []):
        console.line(f"topic {problem}")


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
        show_topic_problems(kafka)
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
