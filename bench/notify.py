"""6. Decision → notification: an admin's pickup.cancel.decide until the seller can see the result.

pickup_svc, notify_svc (one process, as ``lunas serve notify`` starts it: at these rates a second
member only competes for the two cores with everything else) and the feed API run as ``lunas
serve`` children on a fresh broker, database and Redis. M orders are arranged and their
cancellations requested first; once notify_svc has caught up, the M decisions are sent at a fixed
rate (~70 % approve). Three readers note when the seller's notification for each decision becomes
visible: the ``notifications`` topic, the feed API (``GET /v1/notifications`` polled every 20 ms,
so up to 20 ms of the figure is the poll), and the SSE stream (``GET /v1/notifications/stream``).
All readers run in the bench process.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from bench.context import Run
from bench.infra import PARTITIONS, produce_all
from bench.latency import paced
from bench.measure import Probe, arriving, percentiles, wait_until
from bench.pickup_workload import TENANTS, PickupStream, seller
from bench.procs import (
    VENV_BIN,
    Profile,
    Service,
    check_all,
    profile,
    service_env,
    start_service,
)
from schemas import topics
from services.common.devstack import free_port

DECIDED = ("pickup_cancel_approved", "pickup_cancel_rejected")
POLL_S = 0.02
RSS_NAMES = {
    "pickup": "pickup_svc in the decision run",
    "notify": "notify_svc",
    "feed-api": "feed API",
}


class Readers:
    """The three ways a seller sees a notification, each noting first-seen times."""

    def __init__(self, kafka: dict[str, Any], api: str, token: str, seller_id: str) -> None:
        self.api, self.token, self.seller = api, token, seller_id
        self.stop = threading.Event()
        self.decided: dict[str, float] = {}  # order_id → time, pickup_svc's decided event
        self.topic: dict[str, float] = {}  # order_id → time, decision notifications
        self.requested = 0  # "waiting for approval" notifications seen on the topic
        self.sse: dict[str, float] = {}  # order_id → time
        self.feed: dict[str, float] = {}  # notification_id → time
        self.order_of: dict[str, str] = {}  # notification_id → order_id
        self.connected = threading.Event()
        self.errors: list[str] = []
        self.consumer = Consumer(
            {**kafka, "group.id": "bench-notify-reader", "fetch.wait.max.ms": 5}
        )
        self.consumer.assign(
            [
                TopicPartition(topic, p, OFFSET_BEGINNING)
                for topic in (topics.NOTIFICATIONS, topics.PICKUP_CANCEL_DECIDED)
                for p in range(PARTITIONS)
            ]
        )
        self.threads = [
            threading.Thread(target=self._guard, args=(f,), daemon=True)
            for f in (self._read_topic, self._read_sse, self._poll_feed)
        ]
        for t in self.threads:
            t.start()

    def _guard(self, target: Any) -> None:
        try:
            target()
        except Exception as exc:
            if not self.stop.is_set():  # a stream cut at shutdown is no error
                self.errors.append(f"{target.__name__}: {exc!r}")

    def _read_topic(self) -> None:
        for msg in arriving(self.consumer, self.stop.is_set):
            at = time.perf_counter()
            if msg.topic() == topics.PICKUP_CANCEL_DECIDED:  # keyed tenant:order_id
                self.decided.setdefault((msg.key() or b"").decode().partition(":")[2], at)
                continue
            data = json.loads(msg.value() or b"{}").get("data", {})
            if data.get("recipient") != self.seller:
                continue
            if data["kind"] == "pickup_cancel_requested":
                self.requested += 1
            elif data["kind"] in DECIDED:
                self.topic.setdefault(str(data["data"].get("order_id")), at)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _read_sse(self) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(10, read=None)) as client,
            client.stream(
                "GET", f"{self.api}/v1/notifications/stream", headers=self._headers()
            ) as r,
        ):
            event = ""
            for line in r.iter_lines():
                if self.stop.is_set():
                    return
                if line.startswith(": connected"):
                    self.connected.set()
                elif line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "notification":
                    at = time.perf_counter()
                    body = json.loads(line[6:])
                    if body["kind"] in DECIDED:
                        order_id = str(body["data"].get("order_id"))
                        self.sse.setdefault(order_id, at)
                        self.order_of[body["notification_id"]] = order_id

    def _poll_feed(self) -> None:
        with httpx.Client(timeout=10, headers=self._headers()) as client:
            while not self.stop.is_set():
                self._poll_once(client)
                time.sleep(POLL_S)

    def _poll_once(self, client: httpx.Client) -> None:
        """Newest first; one page more while the last one had anything new: items of one batch
        share a timestamp, so a late one may land just below the first page."""
        params: dict[str, str | int] = {"limit": 100}
        for _ in range(20):
            page = client.get(f"{self.api}/v1/notifications", params=params)
            at = time.perf_counter()
            if page.status_code != 200:
                return
            body = page.json()
            new = [i for i in body["items"] if i["notification_id"] not in self.feed]
            for item in new:
                self.feed[item["notification_id"]] = at if item["kind"] in DECIDED else -1.0
            if not new or not body.get("next_cursor"):
                return
            params = {"limit": 100, "cursor": body["next_cursor"]}

    def feed_decisions(self) -> int:
        return sum(1 for t in list(self.feed.values()) if t >= 0)

    def order_ids_of_feed(self) -> dict[str, float]:
        """Feed first-seen times by order id (details fetched for ids SSE did not name)."""
        with httpx.Client(timeout=10, headers=self._headers()) as client:
            for nid in [n for n, t in self.feed.items() if t >= 0 and n not in self.order_of]:
                found = client.get(f"{self.api}/v1/notifications/{nid}")
                if found.status_code == 200:
                    self.order_of[nid] = str(found.json()["data"].get("order_id"))
        return {self.order_of[n]: t for n, t in self.feed.items() if n in self.order_of and t >= 0}

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(3)
        self.consumer.close()


def _token(env: dict[str, str], tenant: str, user: str) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "lunas"), "token", "issue", "--tenant", tenant, "--user", user],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def decision_to_notification(run: Run, rate: int | None = None) -> dict[str, Any]:
    count, per_second = run.mode.notify_orders, float(rate or run.mode.notify_rate)
    stream = PickupStream(run.mode.seed + 1, prefix="notif")
    tenant = TENANTS[0]
    orders = [(tenant, f"ORD-notif-{i:06d}") for i in range(count)]
    with run.stack(f"notify-{per_second:.0f}", redis=True) as stack:
        port = str(free_port())
        api = f"http://127.0.0.1:{port}"
        extra = {"LUNAS_FEED_API_HOST": "127.0.0.1", "LUNAS_FEED_API_PORT": port}
        services: list[Service] = [
            start_service(stack, "pickup"),
            start_service(stack, "notify"),
            start_service(stack, "feed-api", **extra),
        ]
        probe = Probe(stack.dsn, "pickup")
        readers: Readers | None = None
        try:
            conf = stack.settings.kafka_config()
            alive = partial(check_all, services)
            token = _token(service_env(stack), tenant, seller(tenant))  # while they start
            produce_all(conf, [stream.arrange(*o) for o in orders])
            wait_until(lambda: probe.sample().taken >= count, 300, "orders arranged", 0.2, alive)
            produce_all(conf, [stream.request(*o) for o in orders])
            wait_until(lambda: probe.sample().taken >= 2 * count, 300, "requests", 0.2, alive)
            wait_until(lambda: _healthy(api), 60, "feed API", 0.2, alive)
            live = readers = Readers(conf, api, token, seller(tenant))
            wait_until(live.connected.is_set, 30, "SSE connected", 0.05, alive)
            run.progress.update(f"{count:,} cancellations pending; waiting for notify_svc")
            wait_until(
                lambda: live.requested >= count,
                300,
                "request notifications",
                0.2,
                alive,
            )
            decisions = [stream.decide(*o, approve=stream.rng.random() < 0.7) for o in orders]
            run.progress.update(f"{count:,} decisions at {per_second:.0f}/s")
            sent_by_id = paced(stack, decisions, per_second)
            order_by_id = {c.id: o[1] for c, o in zip(decisions, orders, strict=True)}
            sent = {order_by_id[i]: t for i, t in sent_by_id.items()}
            found = _profile_if_behind(run, stack.workdir, services[1], live, count, per_second)
            _wait_caught_up(live, count, alive)
            with contextlib.suppress(TimeoutError):
                wait_until(lambda: live.feed_decisions() >= count, 3, "feed", 0.1, alive)
            feed = live.order_ids_of_feed()
            rss = {RSS_NAMES[s.name]: s.rss_mb() for s in services}
            return {
                "orders": count,
                "rate": per_second,
                "processes": 1,
                "poll_interval_ms": POLL_S * 1000,
                "decided": _latencies(sent, live.decided),
                "topic": _latencies(sent, live.topic),
                "feed_api": _latencies(sent, feed),
                "sse": _latencies(sent, live.sse),
                "rss_mb": rss,
                "reader_errors": live.errors,
                "profile": found.__dict__ if found else None,
            }
        finally:
            if readers is not None:
                readers.close()
            for s in reversed(services):
                s.child.stop(timeout=30)
            probe.close()


def _profile_if_behind(
    run: Run, workdir: Path, notify: Service, live: Readers, count: int, per_second: float
) -> Profile | None:
    """The decisions are sent; if notify_svc is more than a second of them behind, where does its
    time go. (Right after the last send a few are always in flight: profiling then would only
    put py-spy's CPU into their latency.)"""
    if count - len(live.sse) <= per_second:
        return None
    run.progress.update(f"py-spy record of {notify.name} for {run.mode.profile_seconds:.0f}s")
    return profile(notify.worker_pid, run.mode.profile_seconds, workdir / "notify.pyspy.txt")


def _wait_caught_up(live: Readers, count: int, alive: Callable[[], None]) -> None:
    """Until SSE saw every decision, or nothing new came for 10 s (at most 180 s); what never
    came is reported as missing."""
    deadline = time.monotonic() + 180
    last, last_change = -1, time.monotonic()
    while len(live.sse) < count and time.monotonic() < deadline:
        alive()
        if len(live.sse) != last:
            last, last_change = len(live.sse), time.monotonic()
        elif time.monotonic() - last_change > 10:
            return
        time.sleep(0.1)


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _latencies(sent: dict[str, float], seen: dict[str, float]) -> dict[str, Any]:
    values = [(seen[o] - t) * 1000 for o, t in sent.items() if o in seen]
    figures: dict[str, Any] = percentiles(values)
    figures["missing"] = len(sent) - len(values)
    return figures
