"""Running notify_svc and the feed API as real processes, feeding them events, reading results."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from schemas.examples import EXAMPLES_DIR
from services.common.devstack import ChildProcess, free_port, spawn_child
from services.common.settings import Settings
from services.common.topics import ensure_topics
from services.notify_svc.tokens import TokenKeys, issue_token
from services.ops.stack import settings_env
from tests.fixtures.infra import own_broker
from tests.fixtures.producers import shared_producer

SECRET = "notify-app-test-secret-0123456789"
KEYS = TokenKeys.of(SECRET)
SELLER = "user:seller-77"
PICKUP_ADMIN = "rina"  # decides the example cancellations
PAYMENT_ADMINS = "ani,budi,siti"  # of the example payments


def example_path(scenario: str, message_type: str, nth: int = 0) -> Path:
    """The `nth` seed example of `message_type` in `scenario` (found by type: files get
    renumbered)."""
    paths = sorted((EXAMPLES_DIR / scenario).glob(f"*_{message_type}.json"))
    assert len(paths) > nth, f"no {message_type} example #{nth} in {scenario}"
    return paths[nth]


def example(
    scenario: str, message_type: str, *, tenant: str, run: str, nth: int = 0
) -> dict[str, Any]:
    """A seed example moved to `tenant`, with an id of its own (`run` keeps ids distinct),
    requested by `SELLER`."""
    message: dict[str, Any] = json.loads(example_path(scenario, message_type, nth).read_text())
    message["tenantid"] = tenant
    message["id"] = f"{message['id']}-{run}"
    if "requested_by" in message["data"]:
        message["data"]["requested_by"] = SELLER
    return message


def _key(message: dict[str, Any]) -> bytes:
    return f"{message['tenantid']}:{message['subject']}".encode()


def produce(
    bootstrap: str,
    topic: str,
    messages: list[dict[str, Any] | bytes],
    *,
    key_of: dict[str, Any] | None = None,
) -> None:
    """Produce in order; raw bytes get the key of `key_of` (so they share its partition)."""
    producer = shared_producer(bootstrap)
    for m in messages:
        if isinstance(m, bytes):
            producer.produce(topic, value=m, key=_key(key_of) if key_of else b"garbage")
        else:
            producer.produce(
                topic,
                value=json.dumps(m).encode(),
                key=_key(m),
                headers=[("content-type", b"application/cloudevents+json")],
            )
    assert producer.flush(30) == 0


def read_all(
    bootstrap: str, topic: str, *, settle: float = 1.5, timeout: float = 30
) -> list[Message]:
    """Every record of `topic`, read by assignment from offset 0 (no group join) until nothing
    more arrives for `settle` seconds."""
    partitions = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    count = len(partitions.topics[topic].partitions)
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(count)])
    records: list[Message] = []
    deadline, quiet_since = time.monotonic() + timeout, time.monotonic()
    try:
        while time.monotonic() < deadline and time.monotonic() - quiet_since < settle:
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                records.append(msg)
                quiet_since = time.monotonic()
    finally:
        consumer.close()
    return records


class Unavailable(Exception):
    """The feed API answered 503: its Redis is away."""


def eventually(check: Callable[[], Any], *, timeout: float = 60, what: str = "condition") -> Any:
    """The first truthy result of `check`, polled until `timeout` (503s count as "not yet")."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Unavailable):
            result = check()
            if result:
                return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@dataclass
class FeedApi:
    """HTTP client of a running feed API process."""

    url: str

    def token(self, tenant: str, user: str) -> str:
        return issue_token(KEYS, tenant, user, timedelta(hours=1), datetime.now(UTC))

    def get(self, path: str, tenant: str, user: str) -> tuple[int, Any]:
        return self.call("GET", path, tenant, user)

    def call(
        self, method: str, path: str, tenant: str, user: str, body: Any = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token(tenant, user)}"}
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            f"{self.url}{path}", data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read() or b"null")
            if exc.code == 503:
                raise Unavailable(body) from exc
            return exc.code, body

    def feed(self, tenant: str, user: str, query: str = "") -> list[dict[str, Any]]:
        status, page = self.get(f"/v1/notifications?limit=100{query}", tenant, user)
        assert status == 200, page
        items: list[dict[str, Any]] = page["items"]
        return items

    def detail(
        self, tenant: str, user: str, notification_id: str, query: str = ""
    ) -> dict[str, Any]:
        status, body = self.get(f"/v1/notifications/{notification_id}{query}", tenant, user)
        assert status == 200, body
        return dict(body)


def settings_for(base: Settings, bootstrap: str, redis_url: str, data_dir: Path) -> Settings:
    from pydantic import SecretStr

    return base.model_copy(
        update={
            "kafka_bootstrap_servers": bootstrap,
            "redis_url": SecretStr(redis_url),
            "data_dir": data_dir,
            "topic_partitions": 3,
            "feed_token_secret": SecretStr(SECRET),
            "pickup_admins": PICKUP_ADMIN,
            "payment_admins": PAYMENT_ADMINS,
            "feed_api_port": free_port(),
            "log_format": "json",
        }
    )


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUNAS_")}
    env.update(settings_env(settings))
    return env


def start(name: str, settings: Settings) -> ChildProcess:
    """`python -m services.notify_svc.entrypoint <name>` as a child that dies with the test."""
    return spawn_child(
        name,
        [sys.executable, "-m", "services.notify_svc.entrypoint", name],
        settings.data_dir / f"{name}-{uuid.uuid4().hex[:6]}.log",
        env=_env(settings),
    )


def wait_healthy(api: FeedApi, child: ChildProcess, timeout: float = 60) -> None:
    def up() -> bool:
        assert child.alive(), f"feed API exited:\n{child.log_tail()}"
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{api.url}/healthz", timeout=2) as response,
        ):
            return bool(response.status == 200)
        return False

    eventually(up, timeout=timeout, what="the feed API to answer /healthz")


def terminate(child: ChildProcess, timeout: float = 60) -> int:
    """SIGTERM, then the exit code (the child is killed if it does not stop in time)."""
    child.proc.send_signal(signal.SIGTERM)
    try:
        return child.proc.wait(timeout)
    finally:
        child.stop()


@contextlib.contextmanager
def running(settings: Settings) -> Iterator[tuple[ChildProcess, FeedApi]]:
    """notify_svc and the feed API as processes; both must exit 0 on SIGTERM."""
    notify = start("notify", settings)
    feed_api = start("feed-api", settings)
    api = FeedApi(f"http://{settings.feed_api_host}:{settings.feed_api_port}")
    try:
        wait_healthy(api, feed_api)
        yield notify, api
    finally:
        codes = {"notify": terminate(notify), "feed-api": terminate(feed_api)}
    assert codes == {"notify": 0, "feed-api": 0}, (codes, notify.log_tail(), feed_api.log_tail())


@dataclass
class Stack:
    """A running notify_svc and feed API on their own broker (see `own_stack`)."""

    settings: Settings
    api: FeedApi

    @property
    def bootstrap(self) -> str:
        assert self.settings.kafka_bootstrap_servers
        return self.settings.kafka_bootstrap_servers


@contextlib.contextmanager
def own_stack(config: pytest.Config, infra: Settings, data_dir: Path) -> Iterator[Stack]:
    """notify_svc and the feed API as processes on a broker of their own (the session's where
    it is external), with the topics made, on the session's Redis."""
    with own_broker(config, infra, data_dir) as bootstrap:
        settings = settings_for(infra, bootstrap, infra.redis_dsn(), data_dir)
        ensure_topics(settings.kafka_config(), settings.topic_partitions)
        with running(settings) as (_notify, api):
            yield Stack(settings, api)
