"""The ceiling: a bare batched loop on the same broker and Postgres, no domain logic.

``python -m bench.ceiling --bootstrap B --dsn D --records N`` (its own process, like the service):
consume a batch with confluent-kafka, ``schemas.decode`` every record and compute its content
hash as the service does, insert as many rows as the service writes for it in three set-based
statements written the way the service writes (one JSON parameter each, ``json_to_recordset``,
in one pipeline; inbox; state: 2 + 2 per allocation, as payment_svc writes the aggregate, its
status history, each allocation and its history, as narrow rows; outbox: one event of the
command's size), commit (``synchronous_commit`` on, as the server is started), commit the
offsets. Prints one JSON line with the rate. Scratch tables live in schema ``bench_ceiling``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from base64 import b64encode
from typing import Any

import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from bench.measure import rss_mb
from schemas import MessageInvalid, decode
from services.common.runtime.store import content_hash, recordset

GROUP = "lunas.bench.ceiling"
DDL = """
CREATE SCHEMA IF NOT EXISTS bench_ceiling;
CREATE TABLE IF NOT EXISTS bench_ceiling.inbox (
    tenant_id text, source text, message_id text, content_hash text, message_type text,
    outcome text, kafka_partition integer, kafka_offset bigint,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, source, message_id));
CREATE TABLE IF NOT EXISTS bench_ceiling.state (
    tenant_id text, subject text, seq integer, command_id text, body text,
    PRIMARY KEY (tenant_id, subject, command_id, seq));
CREATE TABLE IF NOT EXISTS bench_ceiling.outbox (
    seq bigserial PRIMARY KEY, topic text, event_id text, msg_key bytea, msg_value bytea,
    created_at timestamptz NOT NULL DEFAULT now(), sent_at timestamptz);
"""

INSERT_INBOX = """
INSERT INTO bench_ceiling.inbox
  (tenant_id, source, message_id, content_hash, message_type, outcome, kafka_partition,
   kafka_offset)
SELECT t, so, m, h, ty, 'applied', pa, o FROM json_to_recordset(%s::json)
  AS u(t text, so text, m text, h text, ty text, pa integer, o bigint)
ON CONFLICT DO NOTHING
"""
INSERT_STATE = """
INSERT INTO bench_ceiling.state (tenant_id, subject, seq, command_id, body)
SELECT t, s, n, c, b FROM json_to_recordset(%s::json)
  AS u(t text, s text, n integer, c text, b text)
ON CONFLICT DO NOTHING
"""
INSERT_OUTBOX = """
INSERT INTO bench_ceiling.outbox (topic, event_id, msg_key, msg_value)
SELECT tp, id, decode(k, 'base64'), decode(v, 'base64') FROM json_to_recordset(%s::json)
  AS u(tp text, id text, k text, v text)
"""


def state_rows(data: dict[str, Any]) -> int:
    allocations = data.get("allocations")
    return 2 + 2 * (len(allocations) if isinstance(allocations, list) else 0)


class Batch:
    """The rows of one batch, table by table."""

    def __init__(self) -> None:
        self.inbox: list[dict[str, Any]] = []
        self.state: list[dict[str, Any]] = []
        self.outbox: list[dict[str, Any]] = []

    def add(self, value: bytes, key: bytes | None, partition: int, offset: int) -> None:
        try:
            env = decode(value)
        except MessageInvalid:
            return
        self.inbox.append(
            {
                "t": env.tenantid,
                "so": env.source,
                "m": env.id,
                "h": content_hash(env),
                "ty": env.type,
                "pa": partition,
                "o": offset,
            }
        )
        self.state += [
            {"t": env.tenantid, "s": env.subject, "n": seq, "c": env.id, "b": env.type}
            for seq in range(state_rows(env.data_dict()))
        ]
        self.outbox.append(
            {
                "tp": "payment.events",
                "id": f"{env.id}/event",
                "k": b64encode(key or b"").decode(),
                "v": b64encode(value).decode(),
            }
        )

    def write(self, conn: psycopg.Connection[Any]) -> tuple[int, int, int]:
        with conn.transaction(), conn.pipeline():
            conn.execute(INSERT_INBOX, (recordset(self.inbox),))
            conn.execute(INSERT_STATE, (recordset(self.state),))
            conn.execute(INSERT_OUTBOX, (recordset(self.outbox),))
        return len(self.inbox), len(self.state), len(self.outbox)


def run(
    bootstrap: str, dsn: str, records: int, batch_size: int, topic: str, partitions: int = 6
) -> dict[str, Any]:
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute(DDL)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": GROUP,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "fetch.message.max.bytes": 2 * 1024 * 1024,
        }
    )
    # Assigned, not subscribed: no group join or session to lose on a loaded machine; the offsets
    # are still committed to the group after every batch, as the service does.
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    seen, rows = 0, [0, 0, 0]
    started: float | None = None
    try:
        while seen < records:
            messages = consumer.consume(num_messages=batch_size, timeout=0.2)
            good = [m for m in messages if m.error() is None]
            for m in messages:
                err = m.error()
                if err is not None and err.code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(str(err))
            if not good:
                continue
            started = started or time.monotonic()
            batch = Batch()
            for m in good:
                value, key, partition, offset = m.value(), m.key(), m.partition(), m.offset()
                assert isinstance(value, bytes) and partition is not None and offset is not None
                batch.add(value, key if isinstance(key, bytes) else None, partition, offset)
            for i, n in enumerate(batch.write(conn)):
                rows[i] += n
            consumer.commit(asynchronous=False)
            seen += len(good)
        seconds = time.monotonic() - (started or time.monotonic())
    finally:
        consumer.close()
        conn.close()
    return {
        "records": seen,
        "seconds": seconds,
        "per_s": seen / seconds if seconds > 0 else 0.0,
        "rows": {"inbox": rows[0], "state": rows[1], "outbox": rows[2]},
        "rss_mb": rss_mb(os.getpid()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--topic", default="payment.commands")
    args = parser.parse_args(argv)
    result = run(args.bootstrap, args.dsn, args.records, args.batch, args.topic)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
