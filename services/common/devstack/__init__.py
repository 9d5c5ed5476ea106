"""Embedded infrastructure for development and tests: Kafka API (Tansu), Postgres, Redis.

Each part starts only where its ``LUNAS_*_URL`` is unset; data lives under a directory the caller
chooses. ``process`` spawns and stops children, ``servers`` starts each server, ``stack`` the set.
"""

from services.common.devstack.process import (
    ChildProcess,
    DevstackError,
    free_port,
    spawn_child,
    stop_all,
)
from services.common.devstack.servers import (
    postgres_bin_dir,
    redis_binary,
    start_postgres,
    start_redis,
    start_tansu,
    tansu_binary,
)
from services.common.devstack.stack import Devstack, devstack, start_devstack

__all__ = [
    "ChildProcess",
    "Devstack",
    "DevstackError",
    "devstack",
    "free_port",
    "postgres_bin_dir",
    "redis_binary",
    "spawn_child",
    "start_devstack",
    "start_postgres",
    "start_redis",
    "start_tansu",
    "stop_all",
    "tansu_binary",
]
