"""``lunas run``: embedded infrastructure, migrations, topics, every service and the feed API.

Services run as child processes (``lunas serve <name>``) configured through ``LUNAS_*`` variables;
each carries a parent-death signal, so none outlives ``lunas run``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field

import structlog
from confluent_kafka import Producer
from pydantic import SecretStr

from schemas import CONTENT_TYPE_HEADER, encode, kafka_key
from schemas.registry import TOPIC_TYPES
from services.common.devstack import (
    ChildProcess,
    Devstack,
    DevstackError,
    free_port,
    spawn_child,
    start_devstack,
)
from services.common.migrations import migrate_all
from services.common.settings import Settings
from services.common.topics import ensure_topics

log = structlog.get_logger(__name__)

SERVICES = ("payment", "pickup", "notify", "feed-api")
DEMO_SCENARIOS = (
    "payment_cancel",
    "giro_resolve",
    "sfa_pending",
    "pickup_cancel_approve",
    "pickup_cancel_reject",
)


def settings_env(settings: Settings) -> dict[str, str]:
    """The ``LUNAS_*`` variables that reproduce ``settings`` in a child process."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"LUNAS_{name.upper()}"] = str(value)
    return env


@dataclass
class RunningStack:
    settings: Settings
    devstack: Devstack
    services: list[ChildProcess] = field(default_factory=list)
    feed_api_url: str | None = None

    def healthy(self) -> bool:
        dead = [c for c in [*self.devstack.children, *self.services] if not c.alive()]
        for child in dead:
            log.error(
                "stack.child_exited",
                part=child.name,
                code=child.proc.returncode,
                log=str(child.log_path),
                tail=child.log_tail(10),
            )
        return not dead

    def play_demo(self) -> None:
        """Publish the help-centre scenarios' commands, in order, as upstream systems would."""
        from schemas.examples import load_scenario

        producer = Producer({**self.settings.kafka_config(), "enable.idempotence": True})
        topic_of = {
            t: topic
            for topic, types in TOPIC_TYPES.items()
            for t in types
            if not topic.endswith(".dlq")
        }
        for scenario in DEMO_SCENARIOS:
            for env in load_scenario(scenario, commands_only=True):
                producer.produce(
                    topic_of[env.type],
                    value=encode(env),
                    key=kafka_key(env),
                    headers=[CONTENT_TYPE_HEADER],
                )
                producer.flush(10)
                # Cross-service steps (pickup → payment) need a moment to travel.
                time.sleep(0.5)
            log.info("demo.scenario_published", scenario=scenario)
        producer.flush(10)


def _start_service(name: str, settings: Settings) -> ChildProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUNAS_")}
    env.update(settings_env(settings))
    env["LUNAS_LOG_FORMAT"] = "json"
    return spawn_child(
        name,
        [sys.executable, "-m", "services.ops", "serve", name],
        settings.data_dir.resolve() / "logs" / f"{name}.log",
        env=env,
    )


def _wait_http(url: str, child: ChildProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise DevstackError(f"{child.name} exited while starting:\n{child.log_tail()}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url, timeout=2) as response,  # noqa: S310 - our loopback URL
        ):
            if response.status == 200:
                return
        time.sleep(0.2)
    raise DevstackError(f"{child.name} did not answer {url} within {timeout:.0f}s")


@contextlib.contextmanager
def run_stack(settings: Settings) -> Iterator[RunningStack]:
    stack = start_devstack(settings)
    running = RunningStack(stack.settings, stack)
    try:
        s = running.settings
        migrate_all(s.database_dsn())
        ensure_topics(s.kafka_config(), s.topic_partitions, s.topic_replication_factor)
        if s.feed_api_port == 0:
            s = s.model_copy(update={"feed_api_port": free_port(s.feed_api_host)})
            running.settings = s
        for name in SERVICES:
            running.services.append(_start_service(name, s))
        running.feed_api_url = f"http://{s.feed_api_host}:{s.feed_api_port}"
        feed_api = running.services[SERVICES.index("feed-api")]
        _wait_http(f"{running.feed_api_url}/healthz", feed_api)
        log.info("stack.ready", services=list(SERVICES), feed_api=running.feed_api_url)
        yield running
    finally:
        for child in reversed(running.services):
            child.stop(timeout=30)
        stack.stop()
