"""Runtime throughput on the embedded stack: batches vs single messages, duplicates vs new, memory.

Every figure that matters is a ratio of two measurements taken in the same run.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from confluent_kafka import Consumer, TopicPartition
from pydantic import SecretStr

from schemas import topics
from services.common.devstack import start_devstack, start_tansu
from services.common.settings import Settings
from tests.integration.runtime.helpers import effects, issue_command, produce, running, wait_for
from tests.integration.runtime.toy_service import prepare, toy_spec


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fresh_db(admin_dsn: str, name: str) -> str:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_dsn.rsplit("/", 1)[0] + f"/{name}"


def _apply(settings: Settings, count: int, batch: int, tmp: Path, label: str) -> dict[str, Any]:
    child, bootstrap = start_tansu(tmp / label)
    try:
        dsn = _fresh_db(settings.database_dsn(), f"bench_{label}")
        prepare(dsn)
        s = settings.model_copy(
            update={
                "kafka_bootstrap_servers": bootstrap,
                "database_url": SecretStr(dsn),
                "batch_size": batch,
                "kafka_session_timeout_ms": 2000,
            }
        )
        commands = [issue_command(f"INV-{i}") for i in range(count)]
        produce(bootstrap, topics.PAYMENT_COMMANDS, commands)
        with running(toy_spec(), s):
            wait_for(lambda: len(effects(dsn)) >= 1, timeout=60, what="first effect")
            started = time.perf_counter()
            wait_for(lambda: len(effects(dsn)) == count, timeout=600, what="all effects")
            new_seconds = time.perf_counter() - started
        # Replay the same records: every one is now a duplicate the inbox skips.
        reset = Consumer({"bootstrap.servers": bootstrap, "group.id": "lunas.toy"})
        reset.commit(
            offsets=[TopicPartition(topics.PAYMENT_COMMANDS, p, 0) for p in range(6)],
            asynchronous=False,
        )
        reset.close()
        with running(toy_spec(), s) as proc:
            started = time.perf_counter()
            wait_for(lambda: _committed(bootstrap) >= count, timeout=600, what="replay")
            dup_seconds = time.perf_counter() - started
            del proc
        assert set(effects(dsn).values()) == {1}
        return {
            "count": count,
            "batch": batch,
            "new_per_s": count / new_seconds,
            "duplicates_per_s": count / dup_seconds,
        }
    finally:
        child.stop()


def _committed(bootstrap: str) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "lunas.toy"})
    try:
        parts = [TopicPartition(topics.PAYMENT_COMMANDS, p) for p in range(6)]
        return sum(max(tp.offset, 0) for tp in c.committed(parts, timeout=10))
    finally:
        c.close()


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        stack = start_devstack(
            Settings(data_dir=tmp / "stack", redis_url=SecretStr("unused")), durable=False
        )
        try:
            rss_start = _rss_mib()
            single = _apply(stack.settings, 400, 1, tmp, "single")
            batched = _apply(stack.settings, 4000, 200, tmp, "batched")
            rss_after_small = _rss_mib()
            large = _apply(stack.settings, 16000, 200, tmp, "large")
            rss_end = _rss_mib()
        finally:
            stack.stop()
    return {
        "bench": "runtime_throughput",
        "single": single,
        "batched": batched,
        "large": large,
        "batch_speedup": batched["new_per_s"] / single["new_per_s"],
        "duplicate_vs_new": batched["duplicates_per_s"] / batched["new_per_s"],
        "large_vs_batched_rate": large["new_per_s"] / batched["new_per_s"],
        "peak_rss_mib": {"start": rss_start, "after_4k": rss_after_small, "after_16k": rss_end},
        "rss_growth_16k_vs_4k": (rss_end - rss_start) / max(rss_after_small - rss_start, 1.0),
    }
