"""Commands that wait for what they name (docs/ARCHITECTURE.md "Waiting"): the book and its table.

Contract:
- A command whose handler returns ``Await`` is parked: its inbox outcome is ``waiting`` and a
  row in ``waiting`` (with one ``waiting_refs`` row per missing aggregate) holds the original
  record, in the same transaction.
- A later command for the same subject (tenant, envelope ``subject``) queues behind a parked
  one, so each aggregate still sees its own commands in arrival order.
- When what a parked command awaits exists (created in this batch, or found to exist), it is
  applied, in arrival order, in the same transaction, and the queue behind it moves on.
- A command waits at most ``timeout`` from its ``time``; after that (the sweeper) or when it
  arrives older than that, it is decided at once: a missing aggregate is then ``not_found``.
- Bounded: at most ``per_tenant`` commands wait per tenant; beyond that a command is refused at
  once, saying so.
- Visible to its sender: parking emits ``command.waiting`` (stage "parked", in the batch's
  transaction, ``emitting.py``); a command still waiting half-way to its deadline gets one more
  (stage "halfway", ``halfway_timer``), exactly once.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from schemas import Envelope, MessageInvalid, decode, derive_id, make_event
from services.common.runtime.decoded import Command
from services.common.runtime.records import Record
from services.common.runtime.seam import Outgoing, Ref, cause_key
from services.common.runtime.store import InboxKey, decode_headers, encode_headers, recordset
from services.common.runtime.timers import Timer, TimerContext

Subject = tuple[str, str]  # (tenant_id, envelope subject)


@dataclass(frozen=True, slots=True)
class WaitLimits:
    timeout: timedelta = timedelta(seconds=600)
    per_tenant: int = 10_000


@dataclass
class Parked:
    """A waiting command: loaded from the table (``seq``) or parked in this batch (``seq`` None)."""

    key: InboxKey
    record: Record
    subject: Subject
    message_type: str
    awaits: tuple[Ref, ...]
    deadline: datetime
    seq: int | None = None
    original_awaits: tuple[Ref, ...] = ()
    # The decoded command (None only for a stored record that no longer decodes).
    command: Command | None = None

    def awaits_itself(self) -> bool:
        """Waiting only for the aggregate its own subject names (which does not exist yet)."""
        return bool(self.awaits) and all((r.tenant_id, r.id) == self.subject for r in self.awaits)


@dataclass
class WaitBook:
    """The batch's view of the waiting commands of the subjects it touches, in arrival order."""

    queues: dict[Subject, list[Parked]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # waiting per tenant, as of now
    limits: WaitLimits = field(default_factory=WaitLimits)
    released: list[Parked] = field(default_factory=list)  # loaded rows resolved in this batch
    # What is awaited (tenant, aggregate id) → the subjects whose queues hold rows awaiting it.
    _awaiting: dict[Subject, set[Subject]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Iterable[Parked], counts: dict[str, int], limits: WaitLimits) -> WaitBook:
        book = cls(counts=dict(counts), limits=limits)
        for row in sorted(rows, key=lambda r: r.seq or 0):
            book.queues.setdefault(row.subject, []).append(row)
            book._index(row)
        return book

    def blocked(self, subject: Subject) -> bool:
        """Whether a command for ``subject`` must queue behind a waiting one.

        A command waiting only for its own subject's aggregate (a cancel before its payment's
        record) holds nothing up: whatever comes next either creates that aggregate or needs it
        too. One waiting for something else (a record waiting for its invoice) holds up every
        later command of its subject, so the subject's commands apply in arrival order.
        """
        return any(not row.awaits_itself() for row in self.queues.get(subject, []))

    def candidates(
        self, subject: Subject, *, expired_too: bool = False, now: datetime | None = None
    ) -> list[Parked]:
        """Rows of ``subject`` that may be decided now, if ready: every row up to the first one
        that holds the rest up (and, ``expired_too``, every row past its deadline)."""
        found: list[Parked] = []
        queue = self.queues.get(subject, [])
        for row in queue:
            found.append(row)
            if not row.awaits_itself():
                break
        if expired_too and now is not None:
            found += [r for r in queue if now >= r.deadline and r not in found]
        return found

    def awaiting(self, subject: Subject) -> set[Subject]:
        """Subjects of the rows that await ``subject``'s aggregate (its id, in its tenant)."""
        return set(self._awaiting.get(subject, ()))

    def take(self, row: Parked) -> None:
        """``row`` leaves the book (it is being decided)."""
        queue = self.queues[row.subject]
        queue.remove(row)
        if not queue:
            del self.queues[row.subject]
        self.counts[row.key.tenant_id] = self.counts.get(row.key.tenant_id, 1) - 1
        if row.seq is not None:
            self.released.append(row)

    def has_room(self, tenant_id: str) -> bool:
        return self.counts.get(tenant_id, 0) < self.limits.per_tenant

    def park(self, row: Parked) -> None:
        self.queues.setdefault(row.subject, []).append(row)
        self.counts[row.key.tenant_id] = self.counts.get(row.key.tenant_id, 0) + 1
        self._index(row)

    def _index(self, row: Parked) -> None:
        for ref in row.awaits:
            self._awaiting.setdefault((ref.tenant_id, ref.id), set()).add(row.subject)

    def requeue(self, row: Parked, position: int) -> None:
        """Put a row back where it was: decided again, it still awaits something."""
        self.queues.setdefault(row.subject, []).insert(position, row)
        self._index(row)
        self.counts[row.key.tenant_id] = self.counts.get(row.key.tenant_id, 0) + 1
        if row in self.released:
            self.released.remove(row)

    def awaited(self, row: Parked) -> tuple[Ref, ...]:
        """What ``row`` waits for, as its sender is told (``command.waiting``): what it names, or,
        queued behind others of its subject, what those await (else its subject's turn)."""
        if row.awaits:
            return row.awaits
        ahead: dict[Ref, None] = {}
        for other in self.queues.get(row.subject, []):
            if other is row:
                break
            ahead.update(dict.fromkeys(other.awaits))
        return tuple(ahead) or (Ref("queue", row.subject[0], row.subject[1]),)

    def remaining(self) -> list[Parked]:
        return [row for queue in self.queues.values() for row in queue]


def may_wait(record_time: datetime, now: datetime, limits: WaitLimits) -> bool:
    return now < record_time + limits.timeout


def encode_ref(ref: Ref) -> str:
    return f"{ref.kind}:{ref.id}"


def decode_ref(tenant_id: str, text: str) -> Ref:
    kind, _, ref_id = text.partition(":")
    return Ref(kind, tenant_id, ref_id)


class WaitingStore:
    """SQL of the ``waiting`` tables in one service schema."""

    _COLUMNS = (
        "w.seq, w.consumer, w.tenant_id, w.source, w.message_id, w.message_type, w.subject,"
        " w.awaits, w.topic, w.kafka_partition, w.kafka_offset, w.msg_key, w.msg_value,"
        " w.headers, w.deadline"
    )

    def __init__(self, schema: str, consumer: str) -> None:
        self.consumer = consumer
        s = sql.Identifier(schema)
        cols = sql.SQL(self._COLUMNS)
        self._around = sql.SQL(
            "SELECT {cols} FROM {s}.waiting w WHERE w.consumer = %s AND w.seq IN ("
            " SELECT w2.seq FROM {s}.waiting w2 JOIN unnest(%b::text[], %b::text[]) AS k(t, n)"
            " ON w2.tenant_id = k.t AND w2.subject = k.n"
            " UNION SELECT r.seq FROM {s}.waiting_refs r JOIN unnest(%b::text[], %b::text[])"
            " AS k(t, n) ON r.tenant_id = k.t AND r.ref_id = k.n)"
            " ORDER BY w.seq FOR UPDATE OF w"
        ).format(cols=cols, s=s)
        self._expired = sql.SQL(
            "SELECT w.tenant_id, w.subject FROM {s}.waiting w"
            " WHERE w.consumer = %s AND w.deadline <= %s ORDER BY w.deadline LIMIT %s"
        ).format(s=s)
        # Rows that waited a little, oldest first from a cursor: a sweep looks whether what they
        # await appeared meanwhile (created by another process's batch that committed before
        # the row did, so it could not see the row and release it).
        self._stale = sql.SQL(
            "SELECT w.seq, w.tenant_id, w.subject FROM {s}.waiting w WHERE w.consumer = %s"
            " AND w.seq > %s AND w.created_at < now() - make_interval(secs => %s)"
            " ORDER BY w.seq LIMIT %s"
        ).format(s=s)
        self._counts = sql.SQL(
            "SELECT tenant_id, count(*) FROM {s}.waiting"
            " WHERE consumer = %s AND tenant_id = ANY(%s) GROUP BY tenant_id"
        ).format(s=s)
        # Every new row and its refs in one statement: the rows as one JSON parameter, in arrival
        # order (their seq is that order), each row's refs taken from its ``awaits`` (the id
        # after the first ':', as ``decode_ref`` reads it).
        self._insert = sql.SQL(
            "WITH fresh AS (INSERT INTO {s}.waiting (consumer, tenant_id, source, message_id,"
            " message_type, subject, awaits, topic, kafka_partition, kafka_offset, msg_key,"
            " msg_value, headers, deadline)"
            " SELECT c, t, so, m, ty, sj, aw, tp, pa, o, decode(k, 'base64'), decode(v, 'base64'),"
            " h, dl FROM ROWS FROM (json_to_recordset(%s::json) AS (c text, t text, so text,"
            " m text, ty text, sj text, aw text[], tp text, pa int, o bigint, k text, v text,"
            " h jsonb, dl timestamptz)) WITH ORDINALITY"
            " AS u(c, t, so, m, ty, sj, aw, tp, pa, o, k, v, h, dl, n) ORDER BY n"
            " RETURNING seq, tenant_id, awaits)"
            " INSERT INTO {s}.waiting_refs (tenant_id, ref_id, seq)"
            " SELECT f.tenant_id, substr(a, strpos(a, ':') + 1), f.seq"
            " FROM fresh f, unnest(f.awaits) AS a ON CONFLICT DO NOTHING"
        ).format(s=s)
        self._refs = sql.SQL(
            "INSERT INTO {s}.waiting_refs (tenant_id, ref_id, seq)"
            " SELECT t, r, q FROM unnest(%b::text[], %b::text[], %b::bigint[]) AS u(t, r, q)"
            " ON CONFLICT DO NOTHING"
        ).format(s=s)
        self._delete = sql.SQL("DELETE FROM {s}.waiting WHERE seq = ANY(%s)").format(s=s)
        self._drop_refs = sql.SQL("DELETE FROM {s}.waiting_refs WHERE seq = ANY(%s)").format(s=s)
        self._update = sql.SQL("UPDATE {s}.waiting SET awaits = %s WHERE seq = %s").format(s=s)
        self._stats = sql.SQL(
            "SELECT count(*), extract(epoch FROM now() - min(created_at)) FROM {s}.waiting"
        ).format(s=s)

    def around(
        self, conn: psycopg.Connection[Any], subjects: set[Subject], tenants: Iterable[str]
    ) -> tuple[list[Parked], dict[str, int]]:
        """The waiting commands of ``subjects`` or awaiting them, and so on (a released command
        may create what others await), locked, in arrival order; and how many commands wait
        per tenant, for ``tenants`` and the subjects' (the rows found are of those tenants).
        The counts travel with the first lookup: one round trip where there were two."""
        wanted = sorted(set(tenants) | {t for t, _ in subjects})
        found: dict[int, Parked] = {}
        with conn.pipeline():
            counting = conn.execute(self._counts, (self.consumer, wanted)) if wanted else None
            frontier = set(subjects)
            seen: set[Subject] = set()
            while frontier:
                seen |= frontier
                keys = sorted(frontier)
                ts, ns = [t for t, _ in keys], [n for _, n in keys]
                rows = conn.execute(self._around, (self.consumer, ts, ns, ts, ns)).fetchall()
                new = [self._parked(r) for r in rows if r[0] not in found]
                found.update((p.seq, p) for p in new if p.seq is not None)
                frontier = {p.subject for p in new} - seen
            counts = {t: n for t, n in counting.fetchall()} if counting is not None else {}
        return sorted(found.values(), key=lambda p: p.seq or 0), counts

    def expired(self, conn: psycopg.Connection[Any], now: datetime, limit: int) -> set[Subject]:
        rows = conn.execute(self._expired, (self.consumer, now, limit)).fetchall()
        return {(t, s) for t, s in rows}

    def stale(
        self, conn: psycopg.Connection[Any], after_seq: int, limit: int, age_s: float = 2.0
    ) -> tuple[set[Subject], int]:
        """Subjects of up to ``limit`` rows past ``after_seq`` that waited ``age_s``, and the
        cursor to go on from (0 once the end is reached: the next sweep starts over)."""
        rows = conn.execute(self._stale, (self.consumer, after_seq, age_s, limit)).fetchall()
        cursor = rows[-1][0] if len(rows) == limit else 0
        return {(t, s) for _, t, s in rows}, cursor

    def stats(self, conn: psycopg.Connection[Any]) -> tuple[int, float]:
        row = conn.execute(self._stats).fetchone()
        return (int(row[0]), float(row[1] or 0)) if row else (0, 0.0)

    def write(self, conn: psycopg.Connection[Any], book: WaitBook) -> None:
        """Persist what became of the book: released rows go, new rows come, changed ones change."""
        gone = [p.seq for p in book.released if p.seq is not None]
        if gone:
            conn.execute(self._delete, (gone,))
        remaining = book.remaining()
        changed = [p for p in remaining if p.seq is not None and p.awaits != p.original_awaits]
        if changed:
            seqs = [p.seq for p in changed if p.seq is not None]
            conn.execute(self._drop_refs, (seqs,))
            with conn.cursor() as cur:  # rare: a released head that now awaits something else
                cur.executemany(
                    self._update, [([encode_ref(r) for r in p.awaits], p.seq) for p in changed]
                )
            self._write_refs(conn, [(p.seq, p) for p in changed if p.seq is not None])
        fresh = [p for p in remaining if p.seq is None]
        if fresh:
            conn.execute(self._insert, (recordset([_row(p) for p in fresh]),))

    def _write_refs(
        self, conn: psycopg.Connection[Any], rows: Sequence[tuple[int, Parked]]
    ) -> None:
        pairs = [(seq, p.key.tenant_id, ref.id) for seq, p in rows for ref in p.awaits]
        if pairs:
            conn.execute(
                self._refs,
                ([t for _, t, _ in pairs], [r for _, _, r in pairs], [s for s, _, _ in pairs]),
            )

    def _parked(self, row: tuple[Any, ...]) -> Parked:
        (
            seq,
            consumer,
            tenant,
            source,
            message_id,
            message_type,
            subject,
            awaits,
            topic,
            partition,
            offset,
            key,
            value,
            headers,
            deadline,
        ) = row
        record = Record(
            topic,
            partition,
            offset,
            bytes(key) if key is not None else None,
            bytes(value),
            tuple((k, base64.b64decode(v)) for k, v in headers),
            None,
        )
        refs = tuple(decode_ref(tenant, text) for text in awaits)
        return Parked(
            key=InboxKey(consumer, tenant, source, message_id),
            record=record,
            subject=(tenant, subject),
            message_type=message_type,
            awaits=refs,
            deadline=deadline,
            seq=seq,
            original_awaits=refs,
        )


def _row(p: Parked) -> dict[str, Any]:
    """A new waiting row as the insert's JSON record (bytes as base64)."""
    r = p.record
    return {
        "c": p.key.consumer,
        "t": p.key.tenant_id,
        "so": p.key.source,
        "m": p.key.message_id,
        "ty": p.message_type,
        "sj": p.subject[1],
        "aw": [encode_ref(ref) for ref in p.awaits],
        "tp": r.topic,
        "pa": r.partition,
        "o": r.offset,
        "k": None if r.key is None else _b64(r.key),
        "v": _b64(r.value or b""),
        "h": encode_headers(r.headers),
        "dl": p.deadline,
    }


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def waiting_event(
    env: Envelope,
    awaiting: Sequence[Ref],
    until: datetime | None,
    source: str,
    now: datetime,
    stage: str = "parked",
) -> Envelope:
    """``command.waiting``: the sender learns its command waits, for what and until when
    (docs/ARCHITECTURE.md "Waiting"); one id per command and stage."""
    return make_event(
        "command.waiting",
        {
            "command_id": env.id,
            "command_type": env.type,
            "awaiting": [{"kind": r.kind, "id": r.id} for r in awaiting],
            "until": until or now,
            "stage": stage,
        },
        id=derive_id(cause_key(env), f"waiting/{stage}"),
        source=source,
        time=now,
        tenantid=env.tenantid,
        subject=env.subject,
        cause=env,
    )


# --- half-way ---------------------------------------------------------------------------------

HALFWAY_TIMER = "waiting.halfway"


def halfway_timer(
    schema: str, consumer: str, *, timeout: timedelta, topic: str, period: timedelta
) -> Timer:
    """The runtime's timer that tells a waiting command's sender, once, that it still waits
    half-way to its deadline: ``command.waiting`` with ``stage`` "halfway" on the outcome
    ``topic`` (what notify_svc turns into a notification: docs/ARCHITECTURE.md "Order and
    waiting"). The row is marked ``halfway_at`` in the transaction that emits it, and the
    event's id comes from the command, so it is emitted exactly once, whatever restarts."""
    s = sql.Identifier(schema)
    due = sql.SQL(
        "UPDATE {s}.waiting SET halfway_at = %s WHERE seq IN ("
        " SELECT seq FROM {s}.waiting WHERE consumer = %s AND halfway_at IS NULL"
        " AND deadline - %s <= %s AND deadline > %s ORDER BY deadline LIMIT %s"
        " FOR UPDATE SKIP LOCKED)"
        " RETURNING tenant_id, subject, awaits, msg_value, headers, deadline"
    ).format(s=s)

    def fire(conn: psycopg.Connection[Any], ctx: TimerContext) -> list[Outgoing]:
        half = timeout / 2
        rows = conn.execute(due, (ctx.now, consumer, half, ctx.now, ctx.now, 1000)).fetchall()
        out: list[Outgoing] = []
        for tenant, subject, awaits, value, headers, deadline in rows:
            try:
                env = decode(bytes(value), decode_headers(headers))
            except MessageInvalid:
                continue  # it no longer decodes: its release dead-letters it, nothing to tell
            refs = tuple(decode_ref(tenant, t) for t in awaits) or (Ref("queue", tenant, subject),)
            event = waiting_event(env, refs, deadline, ctx.source, ctx.now, stage="halfway")
            out.append(Outgoing(topic, event))
        return out

    return Timer(HALFWAY_TIMER, period, fire)
