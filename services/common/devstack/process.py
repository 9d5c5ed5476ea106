"""Child processes of the embedded stack: spawned in their own session, dying with their parent.

Every child runs in its own session (so a terminal's Ctrl-C reaches only us and we stop them in
order) and carries a parent-death signal, so it dies with this process even after ``kill -9``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypedDict

import structlog

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
        **as_user(user),
    )
    return ChildProcess(name, proc, log_path, stop_signal, log_file)


class _Identity(TypedDict, total=False):
    user: int
    group: int
    extra_groups: list[int]


def as_user(user: str | None) -> _Identity:
    """Popen arguments that run a child as ``user`` with that user's group and no others."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def wait_until(child: ChildProcess, ready: Callable[[], bool], timeout: float, what: str) -> None:
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


def tcp_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def stop_all(children: Sequence[ChildProcess], timeout: float = 10.0) -> None:
    """Stop ``children`` together: signal every one, then wait on one shared deadline.

    Stopping one after the other made Ctrl-C take the sum of every child's shutdown.
    """
    for child in children:
        if child.alive():
            with contextlib.suppress(ProcessLookupError):
                child.proc.send_signal(child.stop_signal)
    began = time.monotonic()
    deadline = began + timeout
    for child in children:
        child.stop(timeout=max(0.1, deadline - time.monotonic()))
        log.info("devstack.stopped", part=child.name, code=child.proc.returncode,
                 after_s=round(time.monotonic() - began, 2))  # fmt: skip
