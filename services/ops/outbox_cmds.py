"""``lunas outbox list|show|retry``: the rows a service has not published, and sending parked ones
again.

A row is *parked* when the broker refused it for good (larger than the broker allows, invalid);
the relay never tries it again by itself. A row of a topic the service may not write (an ACL) is
*held*: it stays unsent and the relay tries again, later each time, so it shows here as unsent
with its attempts and last error. ``retry`` un-parks: the relay sends the row on its next sweep
(within a second or two while the service runs), with its original event id. The rows of the
same key that came after it were already published, so downstream sees it out of order; the
event ids make it one delivery, not two.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import psycopg
import typer
from psycopg import sql

from services.common.runtime.store import decode_headers
from services.ops import console
from services.ops.status import SCHEMAS

outbox_app = typer.Typer(no_args_is_help=True, help="Rows a service has not published.")

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


class Service(StrEnum):
    payment = "payment"
    pickup = "pickup"


class State(StrEnum):
    parked = "parked"
    unsent = "unsent"
    all = "all"


ServiceOption = Annotated[Service, typer.Option("--service", help="whose outbox")]


@outbox_app.callback()
def outbox() -> None:
    """Rows a service has not published: parked (refused for good) and unsent."""


@outbox_app.command("list")
def list_rows(
    service: Annotated[
        Service | None, typer.Option("--service", help="one service (default: all)")
    ] = None,
    state: Annotated[State, typer.Option(help="parked, unsent (not parked) or all")] = State.all,
    limit: Annotated[int, typer.Option(min=1, help="at most this many rows per service")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Unpublished rows, oldest first: seq, topic, event id, age, attempts, last error."""
    schemas = [service.value] if service else list(SCHEMAS)
    with _connect() as conn:
        rows = [row for schema in schemas for row in unpublished(conn, schema, state, limit)]
    if as_json:
        console.emit_json(rows)
        return
    console.table(
        f"outbox rows not published ({state.value})",
        ["service", "seq", "state", "topic", "event id", "created", "attempts", "last error"],
        [
            [
                r["service"],
                r["seq"],
                r["state"],
                r["topic"],
                r["event_id"],
                r["created_at"],
                r["attempts"],
                (r["last_error"] or "")[:80] or None,
            ]
            for r in rows
        ],
    )
    if not rows:
        console.line("nothing unpublished")


@outbox_app.command("show")
def show_row(
    seq: Annotated[int, typer.Argument(help="the row's seq, from `lunas outbox list`")],
    service: ServiceOption,
    as_json: JsonFlag = False,
) -> None:
    """One row whole: where it goes, its key, headers, value and what the broker said."""
    with _connect() as conn:
        row = conn.execute(
            sql.SQL(
                "SELECT seq, topic, event_id, msg_key, msg_value, headers, created_at, sent_at,"
                " parked_at, attempts, last_error FROM {}.outbox WHERE seq = %s"
            ).format(sql.Identifier(service.value)),
            (seq,),
        ).fetchone()
    if row is None:
        console.fail(f"{service.value} has no outbox row {seq} (sent rows are pruned)")
    names = ["seq", "topic", "event_id", "key", "value", "headers", "created_at", "sent_at"]
    view: dict[str, Any] = dict(
        zip([*names, "parked_at", "attempts", "last_error"], row, strict=True)
    )
    view["key"] = bytes(view["key"]).decode("utf-8", "replace")
    raw = bytes(view["value"])
    try:
        view["value"] = json.loads(raw)
    except ValueError:
        view["value"] = raw.decode("utf-8", "replace")
    view["headers"] = [
        (k, v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
        for k, v in decode_headers(row[5])
    ]
    view["service"] = service.value
    if as_json:
        console.emit_json(view)
        return
    for name, value in view.items():
        if name != "value":
            console.line(f"{name:>11}: {'-' if value is None else value}")
    console.line(f"{'value':>11}: {json.dumps(view['value'], ensure_ascii=False, indent=2)}")


@outbox_app.command("retry")
def retry_rows(
    service: ServiceOption,
    seqs: Annotated[list[int] | None, typer.Argument(help="parked rows to send again")] = None,
    all_parked: Annotated[bool, typer.Option("--all-parked", help="every parked row")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Un-park rows: the service's relay sends them on its next sweep."""
    if not seqs and not all_parked:
        console.fail("name the rows to retry (their seq) or pass --all-parked", code=2)
    with _connect() as conn:
        retried = retry(conn, service.value, None if all_parked else list(seqs or []))
    if as_json:
        console.emit_json({"service": service.value, "retried": retried})
        return
    asked = set(seqs or [])
    for seq in sorted(asked - set(retried)):
        console.line(f"seq {seq}: not parked (already sent, unsent and still tried, or pruned)")
    console.line(
        f"{len(retried)} row(s) handed back to {service.value}'s relay"
        + (f": {', '.join(map(str, retried))}" if retried else "")
    )


def unpublished(
    conn: psycopg.Connection[Any], schema: str, state: State, limit: int
) -> list[dict[str, Any]]:
    query = sql.SQL(
        "SELECT seq, topic, event_id, created_at, attempts, last_error, state FROM ("
        " SELECT *, CASE WHEN parked_at IS NULL THEN 'unsent' ELSE 'parked' END AS state"
        " FROM {}.outbox WHERE sent_at IS NULL) rows"
        " WHERE %(state)s = 'all' OR state = %(state)s ORDER BY seq LIMIT %(limit)s"
    ).format(sql.Identifier(schema))
    names = ("seq", "topic", "event_id", "created_at", "attempts", "last_error", "state")
    found = conn.execute(query, {"state": state.value, "limit": limit}).fetchall()
    return [{"service": schema, **dict(zip(names, row, strict=True))} for row in found]


def retry(conn: psycopg.Connection[Any], schema: str, seqs: list[int] | None) -> list[int]:
    """Un-park ``seqs`` (every parked row if None); the seqs actually un-parked."""
    query = sql.SQL(
        "UPDATE {}.outbox SET parked_at = NULL WHERE sent_at IS NULL AND parked_at IS NOT NULL"
        " AND (%s::bigint[] IS NULL OR seq = ANY(%s::bigint[])) RETURNING seq"
    ).format(sql.Identifier(schema))
    return sorted(row[0] for row in conn.execute(query, (seqs, seqs)).fetchall())


def _connect() -> psycopg.Connection[Any]:
    settings = console.settings()
    try:
        return psycopg.connect(settings.database_dsn(), autocommit=True)
    except (RuntimeError, psycopg.Error) as exc:
        console.fail(str(exc))
