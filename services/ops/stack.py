"""``lunas run``: embedded infrastructure, migrations, topics, every service and the feed API.

Services run as child processes (``lunas serve <name>``) configured through ``LUNAS_*`` variables;
each carries a parent-death signal, so none outlives ``lunas run``. Where no feed token secret is
configured, the data directory gets one of its own (``<data dir>/feed-secret``, random, mode 0600)
and the log says how to mint a token with it; nothing runs on a secret anyone could know.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from confluent_kafka import Consumer, Producer
from pydantic import SecretStr

from schemas import CONTENT_TYPE_HEADER, MessageInvalid, decode, encode, kafka_key
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
from services.common.runtime.records import Record
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

    def play_demo(self) -> list[dict[str, str]]:
        """Publish the help-centre scenarios as upstream systems would, one command at a time.

        Each command waits for its outcome (an event it caused, or its rejection) before the next
        is sent: across aggregates the contract promises no order, and a demo should not race.
        """
        from schemas.examples import load_scenario

        conf = self.settings.kafka_config()
        producer = Producer({**conf, "enable.idempotence": True})
        outcomes = Consumer(
            {
                **conf,
                "group.id": f"lunas.demo.{uuid.uuid4()}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        outcomes.subscribe(list(OUTCOME_TOPICS))
        topic_of = {
            t: topic
            for topic, types in TOPIC_TYPES.items()
            for t in types
            if not topic.endswith(".dlq")
        }
        seen: dict[str, str] = {}
        report: list[dict[str, str]] = []
        try:
            for scenario in DEMO_SCENARIOS:
                for env in load_scenario(scenario, commands_only=True):
                    if env.source.startswith("/svc/"):
                        continue  # emitted by lunas itself in the real flow
                    producer.produce(
                        topic_of[env.type],
                        value=encode(env),
                        key=kafka_key(env),
                        headers=[CONTENT_TYPE_HEADER],
                    )
                    producer.flush(10)
                    outcome = _await_outcome(outcomes, env.id, seen)
                    report.append(
                        {
                            "scenario": scenario,
                            "command": env.type,
                            "subject": env.subject,
                            "outcome": outcome,
                        }
                    )
                    log.info(
                        "demo.step",
                        scenario=scenario,
                        command=env.type,
                        subject=env.subject,
                        outcome=outcome,
                    )
        finally:
            outcomes.close()
        return report

    def demo_hint(self) -> str:
        """A ready-to-run request for the demo seller's notifications."""
        from datetime import UTC, datetime, timedelta

        from schemas.examples.build import SELLER
        from services.notify_svc.bootstrap import token_keys
        from services.notify_svc.tokens import issue_token

        token = issue_token(
            token_keys(self.settings),
            SELLER,
            "user:seller-77",
            timedelta(seconds=self.settings.feed_token_ttl_seconds),
            datetime.now(UTC),
        )
        return f"curl -H 'Authorization: Bearer {token}' {self.feed_api_url}/v1/notifications"


OUTCOME_TOPICS = ("payment.events", "pickup.events", "pickup.cancel.decided")


def _await_outcome(
    consumer: Consumer, command_id: str, seen: dict[str, str], timeout: float = 60
) -> str:
    """The first event caused by ``command_id``: its type, or ``rejected:<code>``."""
    deadline = time.monotonic() + timeout
    while command_id not in seen and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None or msg.error() is not None:
            continue
        try:
            record = Record.of(msg)
            event = decode(record.value, record.headers)
        except MessageInvalid:
            continue
        if event.causationid is None or event.causationid in seen:
            continue
        label = event.type
        if event.type == "command.rejected":
            label = f"rejected:{event.data_dict()['code']}"
        seen[event.causationid] = label
    return seen.get(command_id, "no outcome within 60s")


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


DEMO_ADMIN = "rina"  # the back-office admin of the example pickup messages
DEMO_PAYMENT_ADMINS = ("ani", "budi")  # the admins of the example payment messages
FEED_SECRET_FILE = "feed-secret"  # noqa: S105 - a file name
FEED_SECRET_BYTES = 48  # random bytes; the file holds them base64url-encoded (64 characters)


def _data_dir_secret(path: Path) -> str:
    """The secret stored at `path`, made (random, mode 0600) the first time."""
    from services.notify_svc.tokens import MIN_SECRET_BYTES

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # readable by others is as good as no secret: close it again
            log.warning("stack.feed_secret_mode_fixed", file=str(path))
        secret = path.read_text("utf-8").strip()
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise DevstackError(
                f"{path} holds no usable feed token secret; delete it to have a new one made"
            ) from None
        return secret
    secret = secrets.token_urlsafe(FEED_SECRET_BYTES)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secret + "\n")
    log.info("stack.feed_secret_created", file=str(path))
    return secret


def with_feed_secret(settings: Settings) -> Settings:
    """`settings` with a feed token secret: the configured one, else the data directory's own."""
    if settings.feed_token_secret is not None:
        return settings
    path = settings.data_dir / FEED_SECRET_FILE
    secret = _data_dir_secret(path)
    log.info(
        "stack.feed_secret",
        file=str(path),
        mint_a_token=f'LUNAS_FEED_TOKEN_SECRET="$(cat {path})" lunas token issue '
        "--tenant <tenant> --user user:<id>",
    )
    return settings.model_copy(update={"feed_token_secret": SecretStr(secret)})


@contextlib.contextmanager
def run_stack(settings: Settings, *, demo: bool = False) -> Iterator[RunningStack]:
    settings = with_feed_secret(settings)
    if demo and DEMO_ADMIN not in settings.pickup_admin_ids:
        admins = ",".join(sorted({*settings.pickup_admin_ids, DEMO_ADMIN}))
        settings = settings.model_copy(update={"pickup_admins": admins})
        log.info("demo.admin_added", admin=DEMO_ADMIN, pickup_admins=admins)
    if demo and not settings.payment_admin_ids >= set(DEMO_PAYMENT_ADMINS):
        admins = ",".join(sorted({*settings.payment_admin_ids, *DEMO_PAYMENT_ADMINS}))
        settings = settings.model_copy(update={"payment_admins": admins})
        log.info("demo.admins_added", payment_admins=admins)
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
