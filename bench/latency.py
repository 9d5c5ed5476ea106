"""5. Latency: command produced → its event visible on ``payment.events``, at fixed rates.

A paced producer sends the stream's next commands at R/s and notes the time of each send; a
reader (manual assignment, ``fetch.wait.max.ms=5``) notes when the first event whose
``causationid`` is that command's id arrives (an event or its ``command.rejected``). Duplicates
re-sent cause no event and are left out; a command that changes nothing (a void of a void invoice)
emits none and is counted as missing. After each rate the service drains before the next.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from bench.commands import Command, unique_count
from bench.context import Run
from bench.infra import (
    HEADERS,
    PARTITIONS,
    Stack,
    produce_all,
    ready_producer,
)
from bench.measure import Probe, arriving, percentiles, wait_until
from bench.procs import Service, running, wait_assigned
from schemas import topics

FETCH_WAIT_MS = 5


class EventReader:
    """Notes the arrival time (perf_counter) of the first event caused by each command id."""

    def __init__(self, conf: dict[str, Any]) -> None:
        self.consumer = Consumer(
            {
                **conf,
                "group.id": "bench-latency-reader",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": FETCH_WAIT_MS,
                "fetch.min.bytes": 1,
            }
        )
        self.consumer.assign(
            [TopicPartition(topics.PAYMENT_EVENTS, p, OFFSET_BEGINNING) for p in range(PARTITIONS)]
        )
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, name="bench-latency-reader", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for msg in arriving(self.consumer, self.stop.is_set):
            at = time.perf_counter()
            cause = json.loads(msg.value() or b"{}").get("causationid")
            if cause is not None and cause not in self.seen:
                self.seen[cause] = at

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.consumer.close()


def paced(stack: Stack, commands: list[Command], per_second: float) -> dict[str, float]:
    """Send ``commands`` at ``per_second``; the send time of each command's first send."""
    out = ready_producer(stack.settings.kafka_config(), **{"linger.ms": 1})
    sent: dict[str, float] = {}
    started = time.perf_counter()
    for n, c in enumerate(commands):
        due = started + n / per_second
        pause = due - time.perf_counter()
        if pause > 0.0005:
            time.sleep(pause)
        at = time.perf_counter()
        out.produce(c.topic, value=c.value, key=c.key, headers=HEADERS)
        out.poll(0)
        if not c.duplicate:
            sent.setdefault(c.id, at)
    out.flush(30)
    return sent


def phase(
    run: Run,
    stack: Stack,
    reader: EventReader,
    probe: Probe,
    svc: Service,
    start: int,
    per_second: float,
    label: str,
) -> tuple[dict[str, Any], int]:
    count = max(50, int(per_second * run.mode.latency_seconds))
    commands = run.payment_commands(start, count)
    run.progress.update(f"{label}: {count:,} commands at {per_second:,.0f}/s")
    before = probe.sample().taken
    sent = paced(stack, commands, per_second)
    drain = max(15.0, min(120.0, count / 100))
    # Until every command is settled (the next rate starts on an idle service), then a grace for
    # the relay: a command that changed nothing (a no-op void/release) emits no event at all.
    target = before + unique_count(commands)
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: probe.sample().taken >= target, drain, "drain", 0.1, svc.check)
    with contextlib.suppress(TimeoutError):  # what did not arrive is reported as missing
        wait_until(lambda: all(i in reader.seen for i in sent), 1.0, "events", 0.05, svc.check)
    latencies = [(reader.seen[i] - t) * 1000 for i, t in sent.items() if i in reader.seen]
    figures: dict[str, Any] = percentiles(latencies)
    figures.update({"rate": per_second, "sent": len(sent), "missing": len(sent) - len(latencies)})
    return figures, start + count


def latency(run: Run, max_rate: float) -> dict[str, Any]:
    """Shipped service at each fixed rate and 80 % of ``max_rate``; the naive peer at 100/s."""
    rates = [float(r) for r in run.mode.latency_rates] + [max(10.0, 0.8 * max_rate)]
    results: dict[str, Any] = {"fetch_wait_max_ms": FETCH_WAIT_MS, "shipped": [], "naive": []}
    with run.stack("latency") as stack:
        warm = run.payment_commands(0, 200)
        produce_all(stack.settings.kafka_config(), warm)
        reader = EventReader(stack.settings.kafka_config())
        probe = Probe(stack.dsn, "payment")
        start = len(warm)
        try:
            with running(stack, "payment") as svc:
                wait_until(
                    lambda: probe.sample().taken >= unique_count(warm),
                    120,
                    "warm-up",
                    0.2,
                    svc.check,
                )
                for r in rates:
                    figures, start = phase(run, stack, reader, probe, svc, start, r, "payment_svc")
                    results["shipped"].append(figures)
            with running(stack, "payment", "-naive", LUNAS_BATCH_SIZE="1") as svc:
                wait_assigned([svc])
                figures, start = phase(run, stack, reader, probe, svc, start, 100.0, "naive peer")
                results["naive"].append(figures)
        finally:
            reader.close()
            probe.close()
    return results
