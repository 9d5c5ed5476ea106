"""``<data dir>/stack.env``: where the running ``lunas run`` stack is, for every other command.

``lunas run`` writes it once the stack is up (mode 0600: it holds the feed token secret) and
removes it when it stops. A command run without any ``LUNAS_*`` URL reads it, so a second
terminal needs no copying of random ports; a file whose ``lunas run`` is gone is ignored. What the
environment sets always wins over the file.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services.common.settings import Settings, redact_url

FILE_NAME = "stack.env"
PID_KEY = "LUNAS_STACK_PID"
URL_FIELDS = ("kafka_bootstrap_servers", "database_url", "redis_url")
# What another command needs to reach the stack; nothing else is copied out of the environment.
WRITTEN_FIELDS = (*URL_FIELDS, "feed_api_host", "feed_api_port", "feed_token_secret")


def path_of(settings: Settings) -> Path:
    return settings.data_dir / FILE_NAME


def render(values: Mapping[str, str], pid: int) -> str:
    """The file's text: ``KEY=value`` lines, shell-quoted (``set -a; . .lunas/stack.env`` works)."""
    lines = [f"# written by `lunas run` (pid {pid}); removed when it stops", f"{PID_KEY}={pid}"]
    lines += [f"{key}={shlex.quote(value)}" for key, value in sorted(values.items())]
    return "\n".join(lines) + "\n"


def parse(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        parts = shlex.split(value) if value else [""]
        found[key.strip()] = parts[0] if parts else ""
    return found


def write(settings: Settings, env: Mapping[str, str], pid: int) -> Path:
    """Write the stack's file from the ``LUNAS_*`` variables of its children (``env``)."""
    wanted = {f"LUNAS_{name.upper()}" for name in WRITTEN_FIELDS}
    values = {k: v for k, v in env.items() if k in wanted}
    path = path_of(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(render(values, pid))
    tmp.replace(path)
    return path


def remove(settings: Settings, pid: int) -> None:
    """Remove the file if it is still the one ``pid`` wrote."""
    path = path_of(settings)
    try:
        if parse(path.read_text("utf-8")).get(PID_KEY) == str(pid):
            path.unlink()
    except FileNotFoundError:
        pass


@dataclass(frozen=True)
class Found:
    settings: Settings
    note: str | None  # what to tell the operator (on stderr), None when nothing to say


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def apply(settings: Settings) -> Found:
    """``settings`` completed from the stack's file when the environment names no URL."""
    if any(name in settings.model_fields_set for name in URL_FIELDS):
        return Found(settings, None)
    path = path_of(settings)
    try:
        values = parse(path.read_text("utf-8"))
    except FileNotFoundError:
        return Found(settings, None)
    pid = values.pop(PID_KEY, "")
    if not pid.isdigit() or not _alive(int(pid)):
        gone = f"ignoring {path}: the `lunas run` that wrote it (pid {pid}) is gone"
        return Found(settings, gone)
    fields = {key.removeprefix("LUNAS_").lower(): value for key, value in values.items()}
    kept = {k: v for k, v in fields.items() if k not in settings.model_fields_set}
    # Validated from values, not the environment again: what it set is in `_explicit`.
    loaded = Settings.model_validate({**_explicit(settings), **kept})
    where = ", ".join(
        f"{label} {redact_url(value)}"
        for label, value in (
            ("kafka", loaded.kafka_bootstrap_servers or "-"),
            ("database", loaded.database_dsn() if loaded.database_url else "-"),
            ("redis", loaded.redis_dsn() if loaded.redis_url else "-"),
        )
    )
    return Found(loaded, f"using the stack of `lunas run` (pid {pid}) from {path}: {where}")


def _explicit(settings: Settings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in settings.model_fields_set}
