"""The ceiling: a bare batched loop on the same broker and Postgres, no domain logic.

``python -m bench.ceiling --bootstrap B --dsn D --records N`` (its own process, like the service):
consume a batch with confluent-kafka, ``schemas.decode`` every record, insert as many rows as the
service writes for it in three ``unnest`` statements (inbox; state: 2 + 2 per allocation, as
payment_svc writes the aggregate, its status history, each allocation and its history, as narrow
rows; outbox: one event of the command's size), commit, commit the offsets. Prints one JSON line
with the rate. Scratch tables live in schema ``bench_ceiling``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from typing import Any

import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from bench.measure import rss_mb
from schemas import MessageInvalid, decode

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
SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[],
                     %b::integer[], %b::bigint[])
ON CONFLICT DO NOTHING
"""
INSERT_STATE = """
INSERT INTO bench_ceiling.state (tenant_id, subject, seq, command_id, body)
SELECT * FROM unnest(%b::text[], %b::text[], %b::integer[], %b::text[], %b::text[])
ON CONFLICT DO NOTHING
"""
INSERT_OUTBOX = """
INSERT INTO bench_ceiling.outbox (topic, event_id, msg_key, msg_value)
SELECT * FROM unnest(%b::text[], %b::text[], %b::bytea[], %b::bytea[])
"""


def state_rows(data: dict[str, Any]) -> int:
    allocations = data.get("allocations")
    return 2 + 2 * (len(allocations) if isinstance(allocations, list) else 0)


class Batch:
    """The rows of one batch, column by column (for unnest)."""

    def __init__(self) -> None:
        self.inbox: list[list[Any]] = [[] for _ in range(8)]
        self.state: list[list[Any]] = [[] for _ in range(5)]
        self.outbox: list[list[Any]] = [[] for _ in range(4)]

    def add(self, value: bytes, key: bytes | None, partition: int, offset: int) -> None:
        try:
            env = decode(value)
        except MessageInvalid:
            return
        digest = hashlib.sha256(value).hexdigest()
        row = [env.tenantid, env.source, env.id, digest, env.type, "applied", partition, offset]
        for column, item in zip(self.inbox, row, strict=True):
            column.append(item)
        for seq in range(state_rows(env.data_dict())):
            for column, item in zip(
                self.state, [env.tenantid, env.subject, seq, env.id, env.type], strict=True
            ):
                column.append(item)
        for column, item in zip(
            self.outbox, ["payment.events", f"{env.id}/event", key or b"", value], strict=True
        ):
            column.append(item)

    def write(self, conn: psycopg.Connection[Any]) -> tuple[int, int, int]:
        with conn.transaction():
            conn.execute(INSERT_INBOX, self.inbox)
            conn.execute(INSERT_STATE, self.state)
            conn.execute(INSERT_OUTBOX, self.outbox)
        return len(self.inbox[0]), len(self.state[0]), len(self.outbox[0])


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
