"""``lunas trace``: the causal tree of one command across the services (docs/ARCHITECTURE.md
"Following a command"), from the services' own tables and the topics.

- A command is found in the inbox of the service that consumed it (its outcome, when it was
  decided) and, where the topic still holds it, read back for its time, actor and trace.
- What it caused is what that service's outbox holds with ``causationid`` = its id: events, a
  ``command.waiting``, and the commands pickup_svc sends payment_svc (an approval's
  ``invoice.void`` / ``payment.release``), which are followed into payment_svc's inbox in turn.
  An outbox keeps rows ``LUNAS_OUTBOX_RETENTION_HOURS`` after they were sent; past that the
  outcome topics are read instead.
- The notifications are read from the ``notifications`` topic: those caused by an event of the
  tree, with their recipients.
Each node has its time and the delay from its cause. Assembling the tree (``trace_tree``) does
no IO; ``TraceReader`` here does the reading.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
from confluent_kafka import TopicPartition
from psycopg import sql

from schemas import Envelope, MessageInvalid, decode, is_command
from schemas import topics as t
from services.common.runtime.records import Record
from services.common.settings import Settings
from services.ops import kafka_io
from services.ops.status import SCHEMAS
from services.ops.trace_tree import Emitted, Found, Inbox, Node, assemble

# The topics that carry what each service emits, read when its outbox no longer has the rows.
OUTCOME_TOPICS: dict[str, tuple[str, ...]] = {
    "payment": (t.PAYMENT_EVENTS,),
    "pickup": (t.PICKUP_EVENTS, t.PICKUP_CANCEL_DECIDED, t.PAYMENT_COMMANDS),
}


class TraceError(Exception):
    """The id is unknown, or nothing of it is kept any more: the message says which."""


# --- reading --------------------------------------------------------------------------------------


class TraceReader:
    """Reads the services' inbox and outbox tables and the topics for one trace."""

    def __init__(self, settings: Settings, conn: psycopg.Connection[Any]) -> None:
        self.settings = settings
        self.conn = conn
        self._consumer = kafka_io.reader(settings)
        self._schemas = [s for s in SCHEMAS if self._has_schema(s)]

    def close(self) -> None:
        self._consumer.close()

    def _has_schema(self, schema: str) -> bool:
        row = self.conn.execute("SELECT to_regclass(%s)", (f"{schema}.inbox",)).fetchone()
        return row is not None and row[0] is not None

    def inbox(self, message_id: str, tenant: str | None = None) -> list[Inbox]:
        rows: list[Inbox] = []
        for schema in self._schemas:
            query = sql.SQL(
                "SELECT tenant_id, source, message_id, message_type, outcome, topic,"
                " kafka_partition, kafka_offset, processed_at FROM {}.inbox"
                " WHERE message_id = %s AND tenant_id <> ''"
                " AND (%s::text IS NULL OR tenant_id = %s)"
                " ORDER BY processed_at"
            ).format(sql.Identifier(schema))
            for r in self.conn.execute(query, (message_id, tenant, tenant)).fetchall():
                rows.append(Inbox(schema, *r))
        return rows

    def command(self, row: Inbox) -> Envelope | None:
        """The command as it was sent, read back from its topic (None once retention dropped it)."""
        try:
            record = kafka_io.read_one(self._consumer, row.topic, row.partition, row.offset)
        except kafka_io.OpsError:
            return None
        return _decoded(record)

    def outbox(self, schema: str, cause_id: str, tenant: str) -> list[Emitted]:
        query = sql.SQL(
            "SELECT topic, msg_value, created_at FROM {}.outbox"
            " WHERE msg_key LIKE %s AND position(convert_to(%s, 'UTF8') in msg_value) > 0"
            " ORDER BY seq"
        ).format(sql.Identifier(schema))
        prefix = f"{tenant}:".replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        found: list[Emitted] = []
        for topic, value, created_at in self.conn.execute(
            query,
            (prefix.encode() + b"%", '"causationid":' + json.dumps(cause_id, ensure_ascii=False)),
        ).fetchall():
            env = _decoded_value(bytes(value))
            if env is not None and env.causationid == cause_id:
                found.append(Emitted(schema, topic, env, created_at))
        return found

    def subject_commands(self, tenant: str, subject: str) -> list[str]:
        """Ids of the commands whose outcomes name ``subject`` (their outbox rows' key), or that
        wait with it as their subject, oldest first."""
        ids: dict[str, datetime] = {}
        key = f"{tenant}:{subject}".encode()
        for schema in self._schemas:
            ident = sql.Identifier(schema)
            rows = self.conn.execute(
                sql.SQL(
                    "SELECT msg_value, created_at FROM {}.outbox WHERE msg_key = %s ORDER BY seq"
                ).format(ident),
                (key,),
            ).fetchall()
            for value, created_at in rows:
                env = _decoded_value(bytes(value))
                if env is not None and env.causationid and not is_command(env.type):
                    ids.setdefault(env.causationid, created_at)
            waiting = self.conn.execute(
                sql.SQL(
                    "SELECT message_id, created_at FROM {}.waiting"
                    " WHERE tenant_id = %s AND subject = %s"
                ).format(ident),
                (tenant, subject),
            ).fetchall()
            for message_id, created_at in waiting:
                ids.setdefault(message_id, created_at)
        return [i for i, _ in sorted(ids.items(), key=lambda p: p[1])]

    def topics_caused(
        self, topics: Sequence[str], cause_ids: set[str], since: datetime
    ) -> list[Emitted]:
        """Messages of ``topics`` from ``since`` on whose ``causationid`` is in ``cause_ids``."""
        starts = self._starts(topics, since)
        records = kafka_io.read_records(self._consumer, starts, quiet_s=0.5, timeout=60)
        found: list[Emitted] = []
        for record in records:
            env = _decoded(record)
            if env is None or env.causationid not in cause_ids:
                continue
            at = (
                datetime.fromtimestamp(record.timestamp_ms / 1000, tz=env.time.tzinfo)
                if record.timestamp_ms
                else env.time
            )
            schema = next((s for s, ts in OUTCOME_TOPICS.items() if record.topic in ts), None)
            found.append(Emitted(None if env.type == "notification.created" else schema,
                                 record.topic, env, at))  # fmt: skip
        return found

    def _starts(self, topics: Sequence[str], since: datetime) -> dict[kafka_io.TP, int]:
        adm = kafka_io.admin(self.settings)
        tps = [(topic, p) for topic in topics for p in kafka_io.topic_partitions(adm, topic)]
        ms = int(since.timestamp() * 1000)
        asked = [TopicPartition(topic, p, ms) for topic, p in tps]
        starts: dict[kafka_io.TP, int] = {}
        for tp in self._consumer.offsets_for_times(asked, timeout=kafka_io.TIMEOUT_S):
            # No record after `since` (-1): nothing to read there; the embedded broker may answer
            # 0, which only reads more.
            offset = tp.offset if tp.offset >= 0 else -1
            if offset >= 0:
                starts[(tp.topic, tp.partition)] = offset
        return starts


def _decoded(record: Record | None) -> Envelope | None:
    if record is None:
        return None
    try:
        return decode(record.value, record.headers)
    except MessageInvalid:
        return None


def _decoded_value(value: bytes) -> Envelope | None:
    try:
        return decode(value)
    except MessageInvalid:
        return None  # a dead letter's row: the original bytes, not ours to follow


def gather(reader: TraceReader, root_id: str, tenant: str | None) -> Found:
    """Everything ``root_id`` led to, breadth first through the services' tables, then its
    notifications from the topic."""
    found = Found()
    rows = reader.inbox(root_id, tenant)
    if not rows:
        raise TraceError(
            f"no service has consumed a command with id {root_id!r}"
            + (f" for tenant {tenant}" if tenant else "")
            + " (is it the command's own id? an event's id is not traced; try --subject)"
        )
    found.inbox[root_id] = rows
    pending: list[tuple[Inbox, str]] = [(r, r.message_id) for r in rows]
    event_ids: set[str] = set()
    earliest = min(r.processed_at for r in rows)
    while pending:
        row, cause = pending.pop(0)
        envelope = reader.command(row)
        if envelope is not None:
            found.commands[row.message_id] = envelope
            earliest = min(earliest, envelope.time)
        caused = reader.outbox(row.schema, cause, row.tenant_id)
        if not caused and not row.outcome.startswith(("waiting", "dead_lettered")):
            caused = reader.topics_caused(
                OUTCOME_TOPICS[row.schema], {cause}, row.processed_at - timedelta(minutes=1)
            )
            if caused:
                found.notes.append(
                    f"{row.schema}'s outbox no longer holds what {cause} caused: read from topics"
                )
            else:
                found.notes.append(
                    f"what {cause} caused is no longer kept: not in {row.schema}'s outbox "
                    "(LUNAS_OUTBOX_RETENTION_HOURS) nor on its topics (their retention)"
                )
        found.caused.setdefault(cause, []).extend(caused)
        for item in caused:
            if is_command(item.envelope.type):
                more = reader.inbox(item.envelope.id, row.tenant_id)
                found.inbox[item.envelope.id] = more
                pending += [(r, r.message_id) for r in more]
            else:
                event_ids.add(item.envelope.id)
    if event_ids:
        try:
            told = reader.topics_caused(
                (t.NOTIFICATIONS,), event_ids, earliest - timedelta(minutes=1)
            )
        except kafka_io.OpsError as exc:
            found.notes.append(f"notifications not read: {exc}")
            told = []
        for item in told:
            if item.envelope.causationid:
                found.caused.setdefault(item.envelope.causationid, []).append(item)
    return found


def trace(
    settings: Settings,
    command_id: str | None,
    *,
    subject: str | None = None,
    tenant: str | None = None,
) -> tuple[list[Node], list[str]]:
    """The trees of one command (or of every command about ``subject`` in ``tenant``) and notes
    on what could not be read."""
    with psycopg.connect(settings.database_dsn()) as conn:
        reader = TraceReader(settings, conn)
        try:
            if command_id is not None:
                found = gather(reader, command_id, tenant)
                return assemble(command_id, found), found.notes
            assert subject is not None and tenant is not None
            ids = reader.subject_commands(tenant, subject)
            if not ids:
                raise TraceError(
                    f"nothing about {subject} in tenant {tenant}: no service emitted anything "
                    "for it (or its outbox rows are past LUNAS_OUTBOX_RETENTION_HOURS)"
                )
            roots: list[Node] = []
            notes: list[str] = []
            for one in ids:
                try:
                    found = gather(reader, one, tenant)
                except TraceError:
                    continue  # an event's cause that is not a command (a timer's own)
                roots += assemble(one, found)
                notes += found.notes
            return roots, notes
        finally:
            reader.close()
