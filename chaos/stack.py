"""The system under test: broker, Postgres and Redis (embedded, or what ``LUNAS_*`` names), the
three services as separate ``lunas serve`` processes, and the faults done to them.

Postgres and Redis are reached through TCP proxies the run can cut. Services are started,
SIGKILLed and restarted, and scaled 1 → 2 → 1 by this module; every such act is recorded with
its moment, for the report.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

from bench.infra import Stack
from bench.procs import Service, start_service
from chaos.workload import ADMINS
from services.ops.status import GROUP_TOPICS
from tests.fixtures.tcp_proxy import TcpProxy

ROLES = ("payment", "pickup", "notify")
# What the logs must never show: the feed token secret is this marker (the run checks).
SECRET_MARK = "SECRETMARK-chaos-feed-signing-key-0123456789abcdef"


def _via(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{auth}127.0.0.1:{proxy.port}"))


@dataclass
class Event:
    at: float
    what: str
    detail: str


@dataclass
class System:
    stack: Stack
    pg: TcpProxy
    redis: TcpProxy
    started: float = field(default_factory=time.monotonic)
    services: dict[str, list[Service]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    kills: int = 0
    rebalances: int = 0
    restarts: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _members: threading.Lock = field(default_factory=threading.Lock)
    _count: int = 0

    @property
    def log_dir(self) -> Path:
        return self.stack.workdir / "logs"

    def note(self, what: str, detail: str = "") -> None:
        self.events.append(Event(time.monotonic() - self.started, what, detail))

    def env(self) -> dict[str, str]:
        settings = self.stack.settings
        return {
            "LUNAS_DATABASE_URL": _via(settings.database_dsn(), self.pg),
            "LUNAS_REDIS_URL": _via(settings.redis_dsn(), self.redis),
            "LUNAS_PAYMENT_ADMINS": ",".join(ADMINS),
            "LUNAS_PICKUP_ADMINS": ",".join(ADMINS),
            "LUNAS_FEED_TOKEN_SECRET": SECRET_MARK,
            "LUNAS_KAFKA_SESSION_TIMEOUT_MS": "6000",
            "LUNAS_LOG_LEVEL": "INFO",
        }

    def start(self, role: str) -> Service:
        with self._lock:
            self._count += 1
            tag = f"-{self._count}"
        service = start_service(self.stack, role, tag, **self.env())
        with self._members:
            self.services.setdefault(role, []).append(service)
        return service

    def kill(self, rng: random.Random) -> str:
        """SIGKILL one running service process at random and start its replacement."""
        with self._members:  # taken out first, so that ``revive`` never sees it dead
            live = [(r, s) for r, group in self.services.items() for s in group if s.alive()]
            role, victim = rng.choice(live)
            self.services[role].remove(victim)
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim.pid, signal.SIGKILL)
        victim.child.proc.wait(10)
        self.kills += 1
        self.start(role)
        self.note("kill", f"{victim.name} (pid {victim.pid}), restarted")
        return victim.name

    def scale(self, role: str) -> str:
        """1 → 2 instances, or 2 → 1 (SIGTERM: the leaving one finishes its batch)."""
        with self._members:
            group = self.services.setdefault(role, [])
            leaving = group.pop(0) if len(group) >= 2 else None
        if leaving is None:
            self.start(role)
            change = "1 → 2"
        else:
            leaving.child.stop(timeout=30)
            change = "2 → 1"
        self.rebalances += 1
        self.note("scale", f"{role} {change}")
        return change

    def revive(self) -> None:
        """Start again whatever died by itself (a service must not; the report counts it)."""
        with self._members:
            dead = [
                (role, s) for role, group in self.services.items() for s in group if not s.alive()
            ]
            for role, service in dead:
                self.services[role].remove(service)
        for role, service in dead:
            self.restarts += 1
            self.note("died", f"{service.name} exited {service.child.proc.returncode}")
            self.start(role)

    def stop(self) -> None:
        for group in self.services.values():
            for service in group:
                service.child.stop(timeout=30)
        self.pg.close()
        self.redis.close()


@contextlib.contextmanager
def running_system(stack: Stack) -> Iterator[System]:
    dsn, redis_url = urlsplit(stack.settings.database_dsn()), urlsplit(stack.settings.redis_dsn())
    pg = TcpProxy(dsn.hostname or "127.0.0.1", dsn.port or 5432)
    redis = TcpProxy(redis_url.hostname or "127.0.0.1", redis_url.port or 6379)
    stack.settings = stack.settings.model_copy(update={"feed_token_secret": SecretStr(SECRET_MARK)})
    system = System(stack, pg, redis)
    try:
        for role in ROLES:
            system.start(role)
        yield system
    finally:
        system.stop()


GROUPS = {f"lunas.{role}": GROUP_TOPICS[f"lunas.{role}"] for role in ROLES}
