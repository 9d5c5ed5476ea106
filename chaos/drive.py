"""Sending the workload and doing the faults, side by side, for the length of the run.

The sender produces waves at the mode's rate, hostile messages mixed in, and tells the oracle
each legitimate (or rule-breaking) command in send order. The fault thread kills, scales and
cuts Postgres and Redis on a schedule spread over the expected length of the run, and measures
how long each outage takes to catch up.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from confluent_kafka import Producer

from chaos.config import Mode
from chaos.hostile import READERS, Hostile
from chaos.oracle import Oracle
from chaos.stack import GROUPS, System
from chaos.workload import ADMINS, Need, Sent, Workload
from services.ops import kafka_io

HEADERS: list[tuple[str, str | bytes | None]] = [("content-type", b"application/cloudevents+json")]


@dataclass
class Produced:
    """Where every record went, from the broker's delivery reports."""

    hostile: list[tuple[Sent, str, int, int]] = field(default_factory=list)
    ends: dict[tuple[str, int], int] = field(default_factory=dict)
    legit: int = 0
    failed: int = 0

    def report(self, record: Sent) -> Callable[[Any, Any], None]:
        def on_delivery(err: Any, msg: Any) -> None:
            if err is not None:
                self.failed += 1
                return
            tp = (msg.topic(), msg.partition())
            self.ends[tp] = max(self.ends.get(tp, 0), msg.offset() + 1)
            if record.hostile:
                self.hostile.append((record, msg.topic(), msg.partition(), msg.offset()))
            else:
                self.legit += 1

        return on_delivery


class Sender:
    def __init__(self, system: System, mode: Mode) -> None:
        self.system, self.mode = system, mode
        self.workload = Workload(mode.seed, mode.tenants, prefix=f"cx{mode.seed % 10_000}")
        self.hostile = Hostile(mode.seed, mode.tenants)
        self.hostile.oversize_left = max(3, mode.hostile // 500)
        admins = frozenset(ADMINS)
        self.oracle = Oracle(admins, admins)
        self.produced = Produced()
        self.orders: list[tuple[str, str]] = []
        self._producer = Producer(
            {
                **system.stack.settings.kafka_config(),
                "enable.idempotence": True,
                "linger.ms": 5,
                "message.max.bytes": 3 * 1024 * 1024,
                "queue.buffering.max.messages": 200_000,
            }
        )
        self.duration_s = mode.commands / mode.rate
        self.never_sent = 0
        self.sending_s = 0.0  # from the first wave to the last record acknowledged

    def run(self) -> None:
        wave_size = max(20, int(self.mode.rate))  # about one wave a second
        started = time.monotonic()
        sent = 0
        give_up = float("inf")
        while sent < self.mode.commands or self.workload.pending_later():
            if sent >= self.mode.commands:
                give_up = min(give_up, time.monotonic() + self.mode.drain_timeout_s)
                if time.monotonic() > give_up:
                    # Their payments were never recorded: the check reports them as lost.
                    self.never_sent = self.workload.pending_later()
                    break
            self.system.revive()
            visible = self._visible(self.workload.awaited())
            size = wave_size if sent < self.mode.commands else 0
            wave = self.workload.wave(size, datetime.now(UTC), visible)
            share = self.mode.hostile * len(wave.records) // max(1, self.mode.commands)
            left = self.mode.hostile - self.hostile.made
            hostile = self.hostile.batch(
                min(left, share) if sent < self.mode.commands else left,
                datetime.now(UTC),
                self.workload.payments,
                self.orders,
            )
            records = _mix(wave.records, hostile, random.Random(sent))
            self._send(records)
            sent += len(wave.records)
            behind = started + sent / self.mode.rate - time.monotonic()
            if behind > 0:
                time.sleep(behind)
            elif not wave.records and self.workload.pending_later():
                time.sleep(1.0)  # waiting only for payments that cancellations need
        if self._producer.flush(120) != 0 or self.produced.failed:
            raise RuntimeError(f"the broker did not take every record ({self.produced.failed})")
        self.sending_s = time.monotonic() - started

    def _send(self, records: list[Sent]) -> None:
        now = datetime.now(UTC)
        for record in records:
            if record.envelope is not None:
                self.oracle.apply(record.envelope, now)
                if record.envelope.type == "pickup.arrange":
                    self.orders.append((record.envelope.tenantid, record.envelope.subject))
            while True:
                try:
                    self._producer.produce(
                        record.topic,
                        value=record.value,
                        key=record.key,
                        headers=HEADERS,
                        on_delivery=self.produced.report(record),
                    )
                    break
                except BufferError:
                    self._producer.poll(0.05)
        self._producer.poll(0)

    def _visible(self, wanted: set[Need]) -> set[Need]:
        """Which of ``wanted`` the services' state shows (read directly, not proxied)."""
        if not wanted:
            return set()
        payments = sorted((t, n) for kind, t, n, _ in wanted if kind == "payment")
        orders = sorted((t, n) for kind, t, n, _ in wanted if kind == "order")
        found: set[Need] = set()
        with psycopg.connect(self.system.stack.dsn, autocommit=True) as conn:
            if payments:
                rows = conn.execute(
                    "SELECT tenant_id, payment_no FROM payment.payments WHERE (tenant_id,"
                    " payment_no) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
                    ([t for t, _ in payments], [n for _, n in payments]),
                ).fetchall()
                found |= {("payment", t, n, "") for t, n in rows}
            if orders:
                rows = conn.execute(
                    "SELECT tenant_id, order_id, state FROM pickup.orders WHERE (tenant_id,"
                    " order_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
                    ([t for t, _ in orders], [n for _, n in orders]),
                ).fetchall()
                found |= {("order", t, n, state) for t, n, state in rows}
        return found & wanted


def _mix(legit: list[Sent], hostile: list[Sent], rng: random.Random) -> list[Sent]:
    """Hostile records at random places; legitimate ones keep their order."""
    out = list(legit)
    for record in hostile:
        out.insert(rng.randrange(len(out) + 1), record)
    return out


@dataclass
class Outage:
    what: str
    seconds: float
    catch_up_s: float | None = None


class Faults(threading.Thread):
    """Kills, scalings and the two outages, spread over ``duration_s``."""

    def __init__(self, system: System, mode: Mode, duration_s: float) -> None:
        super().__init__(name="chaos-faults", daemon=True)
        self.system, self.mode, self.duration_s = system, mode, duration_s
        self.rng = random.Random(mode.seed ^ 0xFA17)
        self.stop_event = threading.Event()  # the run is over: the thread may end
        self.quiet = threading.Event()  # no more faults
        self.outages: list[Outage] = []
        self.watchers: list[threading.Thread] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:
            self.error = exc

    def _run(self) -> None:
        plan: list[tuple[float, str]] = []
        span = max(10.0, self.duration_s * 0.9)
        plan += [(self.rng.uniform(4, span), "kill") for _ in range(self.mode.kills)]
        plan += [
            (span * (i + 0.5) / self.mode.scalings, "scale") for i in range(self.mode.scalings)
        ]
        plan += [(span * 0.3, "postgres"), (span * 0.65, "redis")]
        started = time.monotonic()
        roles = ["payment", "pickup"]
        for at, what in sorted(plan):
            if self.quiet.wait(max(0.0, started + at - time.monotonic())):
                break
            # An outage is measured alone: no kill or scaling until it has caught up.
            while any(w.is_alive() for w in self.watchers) and not self.quiet.is_set():
                time.sleep(0.2)
            if self.quiet.is_set():
                break
            if what == "kill":
                self.system.kill(self.rng)
            elif what == "scale":
                self.system.scale(roles[len(self.system.events) % 2])
            else:
                self._outage(what)
        # Processes this thread started die with it (their parent-death signal is per thread):
        # it lives until the run has examined them.
        self.stop_event.wait()

    def _outage(self, what: str) -> None:
        proxy = self.system.pg if what == "postgres" else self.system.redis
        groups = ["lunas.payment", "lunas.pickup"] if what == "postgres" else ["lunas.notify"]
        self.system.note("outage", f"{what} unreachable for {self.mode.outage_s:.0f} s")
        proxy.down()
        time.sleep(self.mode.outage_s)
        proxy.up()
        self.system.note("outage", f"{what} reachable again")
        outage = Outage(what, self.mode.outage_s)
        self.outages.append(outage)
        # Measured beside the other faults, which go on meanwhile (as they would in production).
        watcher = threading.Thread(
            target=self._catch_up, args=(outage, groups), name=f"chaos-{what}", daemon=True
        )
        watcher.start()
        self.watchers.append(watcher)

    def _catch_up(self, outage: Outage, groups: list[str]) -> None:
        up = time.monotonic()
        targets = _ends(self.system, groups)
        deadline = up + max(120.0, 6 * self.mode.outage_s)
        while time.monotonic() < deadline:
            if _caught_up(self.system, groups, targets):
                outage.catch_up_s = time.monotonic() - up
                self.system.note(
                    "caught up", f"after the {outage.what} outage: {outage.catch_up_s:.1f} s"
                )
                return
            time.sleep(0.5)


def _ends(system: System, groups: list[str]) -> dict[tuple[str, int], int]:
    settings = system.stack.settings
    adm, reader = kafka_io.admin(settings), kafka_io.reader(settings)
    try:
        tps = [(t, p) for g in groups for t in GROUPS[g] for p in kafka_io.topic_partitions(adm, t)]
        return {tp: high for tp, (_, high) in kafka_io.watermarks(reader, tps).items()}
    finally:
        reader.close()


def _caught_up(system: System, groups: list[str], targets: dict[tuple[str, int], int]) -> bool:
    adm = kafka_io.admin(system.stack.settings)
    for group in groups:
        tps = [tp for tp in targets if tp[0] in GROUPS[group]]
        committed = kafka_io.committed_offsets(adm, group, tps)
        if any((committed.get(tp) or 0) < targets[tp] for tp in tps):
            return False
    return True


def readers_of(topic: str) -> tuple[str, ...]:
    return READERS[topic]
