"""Inbox and outbox rows, written inside the caller's transaction (schema-qualified SQL)."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from schemas import CONTENT_TYPE_HEADER, Envelope, encode, kafka_key

OUTBOX_SHARDS = 16


def content_hash(env: Envelope) -> str:
    """What makes two messages with one id "the same": type, tenant, subject, actor and data."""
    body = {
        "type": env.type,
        "tenantid": env.tenantid,
        "subject": env.subject,
        "actor": env.actor,
        "data": env.data_dict(),
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class InboxKey:
    consumer: str
    tenant_id: str
    source: str
    message_id: str


@dataclass(frozen=True)
class Claim:
    """The result of claiming a message in the inbox."""

    new: bool
    existing_hash: str | None = None
    existing_outcome: str | None = None


class Store:
    """SQL of the runtime's tables in one service schema."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        s = sql.Identifier(schema)
        self._claim = sql.SQL(
            "INSERT INTO {}.inbox (consumer, tenant_id, source, message_id, content_hash,"
            " message_type, outcome, topic, kafka_partition, kafka_offset)"
            " VALUES (%s, %s, %s, %s, %s, %s, 'pending', %s, %s, %s)"
            " ON CONFLICT DO NOTHING RETURNING 1"
        ).format(s)
        self._existing = sql.SQL(
            "SELECT content_hash, outcome FROM {}.inbox"
            " WHERE consumer = %s AND tenant_id = %s AND source = %s AND message_id = %s"
        ).format(s)
        self._settle = sql.SQL(
            "UPDATE {}.inbox SET outcome = %s"
            " WHERE consumer = %s AND tenant_id = %s AND source = %s AND message_id = %s"
        ).format(s)
        self._outbox = sql.SQL(
            "INSERT INTO {}.outbox (topic, event_id, msg_key, msg_value, headers, shard)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (topic, event_id) DO NOTHING"
        ).format(s)

    def claim(
        self,
        conn: psycopg.Connection[Any],
        key: InboxKey,
        *,
        content_hash: str,
        message_type: str,
        topic: str,
        partition: int,
        offset: int,
    ) -> Claim:
        """Insert the inbox row; if the id was seen, say with which content and outcome.

        A concurrent holder of the same id (a rebalance overlap) makes this wait for its commit,
        so two consumers can never both apply one message.
        """
        row = conn.execute(
            self._claim,
            (
                key.consumer,
                key.tenant_id,
                key.source,
                key.message_id,
                content_hash,
                message_type,
                topic,
                partition,
                offset,
            ),
        ).fetchone()
        if row is not None:
            return Claim(new=True)
        existing = conn.execute(
            self._existing, (key.consumer, key.tenant_id, key.source, key.message_id)
        ).fetchone()
        assert existing is not None, "inbox row vanished inside a transaction"
        return Claim(new=False, existing_hash=existing[0], existing_outcome=existing[1])

    def settle(self, conn: psycopg.Connection[Any], key: InboxKey, outcome: str) -> None:
        conn.execute(
            self._settle, (outcome, key.consumer, key.tenant_id, key.source, key.message_id)
        )

    def add_outbox(
        self,
        conn: psycopg.Connection[Any],
        rows: Sequence[OutboxRow],
    ) -> None:
        if not rows:
            return
        with conn.cursor() as cur:
            cur.executemany(
                self._outbox,
                [
                    (
                        r.topic,
                        r.event_id,
                        r.key,
                        r.value,
                        json.dumps(r.encoded_headers()),
                        shard_of(r.key),
                    )
                    for r in rows
                ],
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
        # Header values may be arbitrary bytes (dead letters keep the original headers).
        return [[k, base64.b64encode(v).decode()] for k, v in self.headers]


def decode_headers(stored: list[list[str]]) -> list[tuple[str, str | bytes | None]]:
    return [(k, base64.b64decode(v)) for k, v in stored]


def shard_of(key: bytes) -> int:
    """Rows of one key share a shard, so one relay at a time publishes them, in order."""
    return zlib.crc32(key) % OUTBOX_SHARDS
