"""Inbox and outbox rows of a batch, written inside the caller's transaction, one statement each.

Each statement takes its rows as one JSON parameter (``json_to_recordset``): the rows are
encoded by the C JSON encoder in one call, and Postgres parses them set-based. Arrays of
parameters cost psycopg a Python-level adaptation per element, which a profile put among a
batch's costliest steps. COPY would suit the append-only rows, but it cannot run inside the
pipeline that sends a batch's writes in one round trip.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from base64 import b64encode
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, LiteralString

import psycopg
from psycopg import sql
from pydantic_core import to_json

from schemas import CONTENT_TYPE_HEADER, Envelope, encode, kafka_key

OUTBOX_SHARDS = 16


def content_hash(env: Envelope) -> str:
    """What makes two messages with one id "the same": type, tenant, subject, actor and data."""
    return hash_content(env.type, env.tenantid, env.subject, env.actor, env.data_dict())


def hash_content(type_: str, tenantid: str, subject: str, actor: str | None, data: Any) -> str:
    """``content_hash`` of these values; ``data`` as JSON values (what ``encode`` writes)."""
    body = {"type": type_, "tenantid": tenantid, "subject": subject, "actor": actor, "data": data}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class InboxKey:
    consumer: str
    tenant_id: str
    source: str
    message_id: str


@dataclass(frozen=True, slots=True)
class Seen:
    """A message id the inbox already held: with which content, and what became of it."""

    content_hash: str
    outcome: str


@dataclass(frozen=True, slots=True)
class InboxClaim:
    """One inbox row to claim for a consumed message (or a dead letter, tenant "")."""

    key: InboxKey
    content_hash: str
    message_type: str
    topic: str
    partition: int
    offset: int


def recordset(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as one JSON parameter for ``json_to_recordset``; Decimal, date and datetime go as
    their ISO text (each column's type parses it on the server). pydantic-core's encoder: a
    third of the standard library's time for a batch's rows."""
    return to_json(rows, fallback=str).decode()


# (tenant, id) pairs as two array parameters: the aggregates a batch locks, in both services.
TENANT_KEYS: LiteralString = "unnest(%b::text[], %b::text[]) AS k(t, n)"

_KEYS = "json_to_recordset(%s::json) AS u(c text, t text, so text, m text"


class Store:
    """SQL of the runtime's tables in one service schema, one statement per step of a batch."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        s = sql.Identifier(schema)
        self._claim = sql.SQL(
            "INSERT INTO {}.inbox (consumer, tenant_id, source, message_id, content_hash,"
            " message_type, outcome, topic, kafka_partition, kafka_offset)"
            " SELECT c, t, so, m, h, ty, 'pending', tp, pa, o FROM " + _KEYS + ","
            " h text, ty text, tp text, pa int, o bigint)"
            " ON CONFLICT DO NOTHING RETURNING consumer, tenant_id, source, message_id"
        ).format(s)
        self._seen = sql.SQL(
            "SELECT i.consumer, i.tenant_id, i.source, i.message_id, i.content_hash, i.outcome"
            " FROM {}.inbox i JOIN " + _KEYS + ")"
            " ON i.consumer = u.c AND i.tenant_id = u.t AND i.source = u.so"
            " AND i.message_id = u.m"
        ).format(s)
        self._settle = sql.SQL(
            "UPDATE {}.inbox i SET outcome = u.outcome FROM " + _KEYS + ", outcome text)"
            " WHERE i.consumer = u.c AND i.tenant_id = u.t AND i.source = u.so"
            " AND i.message_id = u.m"
        ).format(s)
        self._release = sql.SQL(
            "DELETE FROM {}.inbox i USING " + _KEYS + ")"
            " WHERE i.consumer = u.c AND i.tenant_id = u.t AND i.source = u.so"
            " AND i.message_id = u.m"
        ).format(s)
        self._outbox = sql.SQL(
            "INSERT INTO {}.outbox (topic, event_id, msg_key, msg_value, headers, shard)"
            " SELECT tp, id, decode(k, 'base64'), decode(v, 'base64'), h, sh"
            " FROM ROWS FROM (json_to_recordset(%s::json)"
            " AS (tp text, id text, k text, v text, h jsonb, sh smallint))"
            " WITH ORDINALITY AS u(tp, id, k, v, h, sh, n)"
            " ORDER BY n ON CONFLICT (topic, event_id) DO NOTHING RETURNING seq, topic, event_id"
        ).format(s)

    def claim(
        self, conn: psycopg.Connection[Any], claims: Sequence[InboxClaim]
    ) -> dict[InboxKey, Seen]:
        """Insert the inbox rows in one statement; return the ids that were already there.

        ``claims`` must hold each key once. A concurrent holder of one of these ids (a rebalance
        overlap) makes this wait for its commit, so two consumers never both apply a message.
        """
        if not claims:
            return {}
        rows = recordset(
            [
                {
                    "c": c.key.consumer,
                    "t": c.key.tenant_id,
                    "so": c.key.source,
                    "m": c.key.message_id,
                    "h": c.content_hash,
                    "ty": c.message_type,
                    "tp": c.topic,
                    "pa": c.partition,
                    "o": c.offset,
                }
                for c in claims
            ]
        )
        inserted = conn.execute(self._claim, (rows,)).fetchall()
        if len(inserted) == len(claims):
            return {}
        new = {InboxKey(*row) for row in inserted}
        old = [c.key for c in claims if c.key not in new]
        found = conn.execute(self._seen, (_keys(old),)).fetchall()
        seen = {InboxKey(c, t, so, m): Seen(h, o) for c, t, so, m, h, o in found}
        assert len(seen) == len(old), "inbox rows vanished inside a transaction"
        return seen

    def known(
        self, conn: psycopg.Connection[Any], keys: Sequence[InboxKey]
    ) -> dict[InboxKey, Seen]:
        """What the inbox already holds of ``keys`` (read only, nothing claimed)."""
        if not keys:
            return {}
        found = conn.execute(self._seen, (_keys(keys),)).fetchall()
        return {InboxKey(c, t, so, m): Seen(h, o) for c, t, so, m, h, o in found}

    def settle(
        self, conn: psycopg.Connection[Any], outcomes: Sequence[tuple[InboxKey, str]]
    ) -> None:
        """Record what became of each claimed message, in one statement."""
        if not outcomes:
            return
        rows = recordset(
            [
                {"c": k.consumer, "t": k.tenant_id, "so": k.source, "m": k.message_id, "outcome": o}
                for k, o in outcomes
            ]
        )
        conn.execute(self._settle, (rows,))

    def release(self, conn: psycopg.Connection[Any], keys: Sequence[InboxKey]) -> None:
        """Give back claimed ids whose messages were dead-lettered, so a redrive applies them."""
        conn.execute(self._release, (_keys(keys),))

    def add_outbox(
        self,
        conn: psycopg.Connection[Any],
        rows: Sequence[OutboxRow],
        *,
        meanwhile: Callable[[], None] | None = None,
    ) -> list[tuple[int, OutboxRow]]:
        """Insert the rows in one statement, in order; return the new ones with their ``seq``.

        ``meanwhile`` runs once the statement is sent and before its rows are awaited: in a
        pipeline, while the server executes what was sent before it."""
        if not rows:
            if meanwhile is not None:
                meanwhile()
            return []
        values = recordset(
            [
                {
                    "tp": r.topic,
                    "id": r.event_id,
                    "k": b64encode(r.key).decode(),
                    "v": b64encode(r.value).decode(),
                    "h": r.encoded_headers(),
                    "sh": shard_of(r.key),
                }
                for r in rows
            ]
        )
        cursor = conn.execute(self._outbox, (values,))
        if meanwhile is not None:
            meanwhile()
        inserted = cursor.fetchall()
        by_id = {(r.topic, r.event_id): r for r in rows}
        found = [(seq, by_id[(topic, event_id)]) for seq, topic, event_id in inserted]
        return sorted(found, key=lambda pair: pair[0])


def _keys(keys: Sequence[InboxKey]) -> str:
    return recordset(
        [{"c": k.consumer, "t": k.tenant_id, "so": k.source, "m": k.message_id} for k in keys]
    )


@dataclass(frozen=True)
class OutboxRow:
    topic: str
    event_id: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @classmethod
    def of(cls, topic: str, env: Envelope) -> OutboxRow:
        return cls(topic, env.id, kafka_key(env), encode(env), (CONTENT_TYPE_HEADER,))

    def encoded_headers(self) -> list[list[str]]:
        return encode_headers(self.headers)


def encode_headers(headers: Sequence[tuple[str, bytes]]) -> list[list[str]]:
    """Headers as stored in a jsonb column: values may be arbitrary bytes (dead letters keep the
    original headers), so they go as base64; ``decode_headers`` reads them back."""
    return [[k, base64.b64encode(v).decode()] for k, v in headers]


def decode_headers(stored: list[list[str]]) -> list[tuple[str, str | bytes | None]]:
    return [(k, base64.b64decode(v)) for k, v in stored]


def shard_of(key: bytes) -> int:
    """Rows of one key share a shard, so one relay at a time publishes them, in order."""
    return zlib.crc32(key) % OUTBOX_SHARDS
