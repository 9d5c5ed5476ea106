"""``lunas run``: the embedded infrastructure, migrations, topics and every service process."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import structlog

from services.common.devstack import ChildProcess, Devstack, start_devstack
from services.common.migrations import migrate_all
from services.common.settings import Settings
from services.common.topics import ensure_topics

log = structlog.get_logger(__name__)


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
        log.info("stack.demo_not_available")


@contextlib.contextmanager
def run_stack(settings: Settings) -> Iterator[RunningStack]:
    stack = start_devstack(settings)
    running = RunningStack(stack.settings, stack)
    try:
        migrate_all(running.settings.database_dsn())
        ensure_topics(
            running.settings.kafka_config(),
            running.settings.topic_partitions,
            running.settings.topic_replication_factor,
        )
        yield running
    finally:
        for child in reversed(running.services):
            child.stop()
        stack.stop()
