"""10. notify_svc on its own: how many source events per second it settles from a backlog.

N approved cancellations are written straight to notify_svc's source topics, each as its three
facts (pickup_svc's ``pickup.cancel.decided``, payment_svc's ``invoice.voided`` and
``payment.released``, one correlation id, so two of the three complete a settlement join), before
notify_svc starts on a fresh broker and Redis. The notifications they must yield are computed
beforehand with notify_svc's own handling code on in-memory ports; a reader counts them by key
on ``notifications``. The rate is the notifications seen from the moment every member holds its
partitions (or the first notification, if later) to the last one expected, as source events (two
notifications each). Measured twice, each on a
fresh broker and Redis: with notify_svc as one process (profiled while it runs) and as the mode's
``notify_processes`` members of its group (not profiled: the figure the target is read from).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from functools import partial
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from bench.commands import Command
from bench.context import Run
from bench.infra import PARTITIONS, produce_all
from bench.measure import wait_until
from bench.pickup_workload import TENANTS, seller
from bench.procs import check_all, profile, start_members, wait_assigned
from schemas import decode, encode, kafka_key, topics
from schemas.examples import EXAMPLES_DIR
from services.notify_svc.handling import derive_all
from services.notify_svc.memory import memory_ports
from services.notify_svc.model import SourceEvent
from services.notify_svc.rules import Malformed

SCENARIO = EXAMPLES_DIR / "pickup_cancel_approve"
TEMPLATES = (
    ("pickup.cancel.decided", topics.PICKUP_CANCEL_DECIDED),
    ("invoice.voided", topics.PAYMENT_EVENTS),
    ("payment.released", topics.PAYMENT_EVENTS),
)
# What the templates name, replaced per cancellation.
ORDER, PAYMENT = "ORD-2024-000871", "PAY-2024-003310"
TENANT, SELLER = "seller-clodeo-77", "user:seller-77"


def _templates() -> list[tuple[str, str]]:
    out = []
    for message_type, topic in TEMPLATES:
        (path,) = SCENARIO.glob(f"*_{message_type}.json")
        out.append((path.read_text(), topic))
    return out


def source_events(count: int) -> list[Command]:
    """The three facts of `count` approved cancellations, ids and numbers of their own."""
    templates = _templates()
    out: list[Command] = []
    for i in range(count):
        tenant = TENANTS[i % len(TENANTS)]
        for n, (text, topic) in enumerate(templates):
            body = json.loads(
                text.replace(ORDER, f"ORD-rate-{i:07d}")
                .replace(PAYMENT, f"PAY-rate-{i:07d}")
                .replace(TENANT, tenant)
                .replace(SELLER, seller(tenant))
            )
            body["id"] = f"rate-{i:07d}-{n}"
            env = decode(json.dumps(body).encode())
            out.append(Command(env.id, env.type, topic, kafka_key(env), encode(env)))
    return out


def expected_keys(events: list[Command]) -> set[bytes]:
    """The keys of every notification notify_svc must publish for `events` (in-memory ports)."""
    facts = [SourceEvent.from_envelope(decode(c.value)) for c in events]
    derived = asyncio.run(derive_all(facts, memory_ports()))
    return {
        f"{n.tenantid}:{n.notification_id}".encode()
        for made in derived
        if not isinstance(made, Malformed)
        for n in made
    }


class KeyCounter:
    """Notes when each expected notification key is first seen on `notifications`."""

    def __init__(self, kafka: dict[str, Any], expected: set[bytes]) -> None:
        self.expected = expected
        self.seen: set[bytes] = set()
        self.first: float | None = None
        self.last: float | None = None
        self.opened: tuple[float, int] | None = None
        self.stop = threading.Event()
        self.consumer = Consumer({**kafka, "group.id": "bench-notify-rate", "fetch.wait.max.ms": 5})
        self.consumer.assign(
            [TopicPartition(topics.NOTIFICATIONS, p, OFFSET_BEGINNING) for p in range(PARTITIONS)]
        )
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self.stop.is_set():
            for msg in self.consumer.consume(num_messages=2000, timeout=0.05):
                key = msg.key()
                if msg.error() is not None or key not in self.expected or key in self.seen:
                    continue
                self.seen.add(key)
                now = time.perf_counter()
                self.first = self.first or now
                self.last = now

    def open_window(self) -> None:
        """From now on: what is seen counts toward the rate."""
        self.opened = (time.perf_counter(), len(self.seen))

    def window(self) -> tuple[float, int]:
        """Seconds from the window's opening (or the first notification, if later) to the last
        notification, and the notifications seen in them (all, if every one came before)."""
        assert self.first is not None and self.last is not None
        opened, before = self.opened or (self.first, 0)
        if opened >= self.last:
            return self.last - self.first, len(self.seen)
        return self.last - max(opened, self.first), len(self.seen) - before

    def done(self) -> bool:
        return len(self.seen) >= len(self.expected)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(3)
        self.consumer.close()


def notify_sustained(run: Run) -> dict[str, Any]:
    """The rate with ``notify_processes`` members, and with one process (``one_process``)."""
    events = source_events(run.mode.notify_rate_orders)
    expected = expected_keys(events)
    one = _sustained(run, events, expected, processes=1)
    many = run.mode.notify_processes
    return {**_sustained(run, events, expected, processes=many), "one_process": one}


def _sustained(
    run: Run, events: list[Command], expected: set[bytes], *, processes: int
) -> dict[str, Any]:
    with run.stack(f"notify-rate-x{processes}", redis=True) as stack:
        conf = stack.settings.kafka_config()
        produce_all(conf, events)
        counter = KeyCounter(conf, expected)
        notify = start_members(stack, "notify", processes, f"-x{processes}")
        try:
            alive = partial(check_all, [notify])
            # The window opens once every member has its partitions: the joins and the
            # rebalances between them are not part of the rate.
            if not wait_assigned([notify], timeout=60, members=processes):
                raise TimeoutError(f"{processes} notify_svc member(s) not assigned within 60 s")
            counter.open_window()
            run.progress.update(
                f"{len(events):,} source events, {len(expected):,} notifications, "
                f"{processes} process(es)"
            )
            wait_until(lambda: counter.first is not None, 120, "first notification", 0.05, alive)
            found = None
            if processes == 1:
                time.sleep(min(2.0, run.mode.profile_seconds))
                found = profile(
                    notify.worker_pid, run.mode.profile_seconds, stack.workdir / "rate.pyspy.txt"
                )
            wait_until(counter.done, 600, "every notification", 0.1, alive)
            seconds, counted = counter.window()
            per_s = counted / seconds if seconds > 0 else 0.0
            return {
                "orders": run.mode.notify_rate_orders,
                "processes": processes,
                "source_events": len(events),
                "notifications": len(expected),
                "seconds": seconds,
                "events_per_s": per_s * len(events) / len(expected),
                "notifications_per_s": per_s,
                "rss_mb": notify.rss_mb(),
                "profile": found.__dict__ if found else None,
            }
        finally:
            counter.close()
            notify.child.stop(timeout=30)
