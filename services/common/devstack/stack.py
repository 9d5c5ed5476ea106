"""The embedded stack: start what the settings leave unset, under one data-directory lock."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import structlog

from services.common.devstack.process import ChildProcess, DevstackError, stop_all
from services.common.devstack.servers import start_postgres, start_redis, start_tansu
from services.common.settings import Settings

log = structlog.get_logger(__name__)


@dataclass
class Devstack:
    """The embedded parts that were started, and the settings that point at them."""

    settings: Settings
    data_dir: Path
    children: list[ChildProcess] = field(default_factory=list)
    _lock_file: IO[str] | None = None

    def stop(self) -> None:
        # The parts do not depend on each other: stop them together.
        stop_all(self.children)
        self.children.clear()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    @property
    def pids(self) -> list[int]:
        return [c.proc.pid for c in self.children]


def start_devstack(settings: Settings, *, durable: bool = True) -> Devstack:
    """Start what ``settings`` leaves unset; return the stack with completed settings."""
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    lock_file = (data_dir / ".lock").open("w")
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        lock_file.close()
        raise DevstackError(
            f"another lunas stack is using {data_dir}; stop it or set LUNAS_DATA_DIR"
        ) from exc
    stack = Devstack(settings, data_dir, _lock_file=lock_file)
    updates: dict[str, object] = {}
    try:
        if not settings.kafka_bootstrap_servers:
            child, bootstrap = start_tansu(data_dir)
            stack.children.append(child)
            updates["kafka_bootstrap_servers"] = bootstrap
        if settings.database_url is None:
            child, dsn = start_postgres(data_dir, durable=durable)
            stack.children.append(child)
            updates["database_url"] = dsn
        if settings.redis_url is None:
            child, url = start_redis(data_dir)
            stack.children.append(child)
            updates["redis_url"] = url
    except BaseException:
        stack.stop()
        raise
    stack.settings = settings.model_copy(update=_as_settings_values(updates))
    for child in stack.children:
        log.info("devstack.started", part=child.name, pid=child.proc.pid, log=str(child.log_path))
    return stack


def _as_settings_values(updates: dict[str, object]) -> dict[str, object]:
    from pydantic import SecretStr

    return {
        k: SecretStr(v) if k in {"database_url", "redis_url"} and isinstance(v, str) else v
        for k, v in updates.items()
    }


@contextlib.contextmanager
def devstack(settings: Settings, *, durable: bool = True) -> Iterator[Devstack]:
    stack = start_devstack(settings, durable=durable)
    try:
        yield stack
    finally:
        stack.stop()
