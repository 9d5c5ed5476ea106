"""``lunas run``: embedded infrastructure, migrations, topics, every service and the feed API.

Services run as child processes (``lunas serve <name>``) configured through ``LUNAS_*`` variables;
each carries a parent-death signal, so none outlives ``lunas run``, and a supervisor restarts one
that exits. Once all is up the stack's address goes to ``<data dir>/stack.env`` for the other
``lunas`` commands; it is removed again on the way out.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import structlog
from pydantic import SecretStr

from services.common.devstack import (
    ChildProcess,
    Devstack,
    DevstackError,
    free_port,
    spawn_child,
    start_devstack,
    stop_all,
)
from services.common.migrations import migrate_all
from services.common.settings import Settings
from services.common.topics import ensure_topics
from services.ops import stack_env
from services.ops.services import SERVICES as SERVICE_SPECS
from services.ops.stack.secret import with_feed_secret
from services.ops.stack.supervise import Report, Supervisor

log = structlog.get_logger(__name__)

# Every service by its ServiceSpec, and the feed API (``lunas run`` does not start the read API).
SERVICES = (*(s.name for s in SERVICE_SPECS), "feed-api")
DEMO_ADMIN = "rina"  # the back-office admin of the example pickup messages
DEMO_PAYMENT_ADMINS = ("ani", "budi")  # the admins of the example payment messages

Progress = Callable[[str, str], None]  # (part, what happened), for the screen


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
    supervisor: Supervisor | None = None
    feed_api_url: str = ""
    reports: list[Report] = field(default_factory=list)

    def check(self) -> bool:
        """Restart what exited; False once an embedded server died (the stack cannot go on)."""
        if self.supervisor is not None:
            self.supervisor.check()
        dead = [c for c in self.devstack.children if not c.alive()]
        for child in dead:
            log.error("stack.part_exited", part=child.name, code=child.proc.returncode,
                      log=str(child.log_path), tail=child.log_tail(10))  # fmt: skip
        return not dead


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


def _with_demo_admins(settings: Settings) -> Settings:
    pickup = ",".join(sorted({*settings.pickup_admin_ids, DEMO_ADMIN}))
    payment = ",".join(sorted({*settings.payment_admin_ids, *DEMO_PAYMENT_ADMINS}))
    log.info("demo.admins", pickup_admins=pickup, payment_admins=payment)
    return settings.model_copy(update={"pickup_admins": pickup, "payment_admins": payment})


def _nothing(_part: str, _what: str) -> None:
    pass


@contextlib.contextmanager
def run_stack(
    settings: Settings,
    *,
    demo: bool = False,
    progress: Progress = _nothing,
    on_report: Callable[[Report], None] = lambda _r: None,
) -> Iterator[RunningStack]:
    settings = with_feed_secret(settings)
    if demo:
        settings = _with_demo_admins(settings)
    progress("infrastructure", "starting the embedded Kafka API, Postgres and Redis")
    stack = start_devstack(settings)
    running = RunningStack(stack.settings, stack)
    services: dict[str, ChildProcess] = {}
    try:
        for child in stack.children:
            progress(child.name, f"pid {child.proc.pid}")
        s = running.settings
        migrate_all(s.database_dsn())
        progress("migrations", "applied")
        ensure_topics(s.kafka_config(), s.topic_partitions, s.topic_replication_factor)
        progress("topics", "created")
        if s.feed_api_port == 0:
            s = s.model_copy(update={"feed_api_port": free_port(s.feed_api_host)})
            running.settings = s
        for name in SERVICES:
            services[name] = _start_service(name, s)
            progress(name, f"pid {services[name].proc.pid}")
        running.feed_api_url = f"http://{s.feed_api_host}:{s.feed_api_port}"
        _wait_http(f"{running.feed_api_url}/healthz", services["feed-api"])
        running.supervisor = Supervisor(
            services, lambda name: _start_service(name, s), time.monotonic, on_report
        )
        stack_env.write(s, settings_env(s), os.getpid())
        log.info("stack.ready", services=list(SERVICES), feed_api=running.feed_api_url)
        yield running
    finally:
        # Ctrl-C again while stopping must not leave half a stack: finish stopping first.
        with _signals_held():
            stack_env.remove(running.settings, os.getpid())
            current = running.supervisor.children if running.supervisor else services.values()
            stop_all(list(current), timeout=10)
            stack.stop()


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    import signal

    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
