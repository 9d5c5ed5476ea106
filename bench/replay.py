"""7. Replay: apply a stream, stop, move group ``lunas.payment`` to 0, restart, time the re-read.

Every replayed command is a duplicate the inbox skips; the figure is records re-read per second
(from the first committed progress to the committed offsets reaching the end of every partition,
counted from the producer's acknowledgements, not the broker's watermarks). The state digest
(``services.payment_svc.adapters.verify.state_digest``) is read before and after.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from confluent_kafka import Consumer, TopicPartition

from bench.commands import unique_count
from bench.context import Run
from bench.infra import produce_all, reset_group
from bench.measure import Probe, wait_until
from bench.procs import running
from schemas import topics
from services.payment_svc.adapters.verify import state_digest

GROUP = "lunas.payment"


def _digest(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        return state_digest(conn)


class Committed:
    """The group's committed offsets, read with one consumer that never joins the group."""

    def __init__(self, conf: dict[str, Any], partitions: list[tuple[str, int]]) -> None:
        self.reader = Consumer({**conf, "group.id": GROUP, "enable.auto.commit": False})
        self.partitions = partitions

    def total(self) -> int:
        tps = [TopicPartition(t, p) for t, p in self.partitions]
        return sum(max(tp.offset, 0) for tp in self.reader.committed(tps, timeout=10))

    def close(self) -> None:
        self.reader.close()


def replay(run: Run) -> dict[str, Any]:
    commands = run.payment_commands(0, run.mode.replay_commands)
    unique = unique_count(commands)
    with run.stack("replay") as stack:
        conf = stack.settings.kafka_config()
        produced = produce_all(conf, commands)
        end = sum(produced.ends.values())
        committed = Committed(conf, sorted(produced.ends))
        probe = Probe(stack.dsn, "payment")
        try:
            with running(stack, "payment", "-apply") as svc:
                started = time.monotonic()
                wait_until(
                    lambda: probe.sample().taken >= unique and committed.total() >= end,
                    max(120.0, unique / 20),
                    "every command applied and committed",
                    0.25,
                    svc.check,
                )
                apply_seconds = time.monotonic() - started
            before = _digest(stack.dsn)
            reset_group(conf, GROUP, topics.PAYMENT_COMMANDS)
            run.progress.update(f"{unique:,} applied; group reset to 0, replaying {end:,} records")
            with running(stack, "payment", "-replay") as svc:
                wait_until(lambda: committed.total() > 0, 120, "replay started", 0.02, svc.check)
                first_at, first = time.monotonic(), committed.total()
                wait_until(
                    lambda: committed.total() >= end,
                    max(120.0, end / 50),
                    "replay",
                    0.05,
                    svc.check,
                )
                seconds = time.monotonic() - first_at
                rss = svc.rss_mb()
            after = _digest(stack.dsn)
            outcomes = probe.outcomes()
        finally:
            committed.close()
            probe.close()
    replayed = end - first
    return {
        "records": end,
        "distinct": unique,
        "first_apply_seconds_incl_startup": apply_seconds,
        "replayed_records": replayed,
        "seconds": seconds,
        "records_per_s": replayed / seconds if seconds > 0 else 0.0,
        "digest_before": before,
        "digest_after": after,
        "digest_unchanged": before == after,
        "outcomes": outcomes,
        "rss_mb": rss,
    }
