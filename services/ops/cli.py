"""The ``lunas`` command line: run the stack, serve one service, and the operators' tools."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from services.common.logging import configure_logging
from services.common.settings import Settings, redact_url

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


@app.command()
def run(
    demo: Annotated[
        bool, typer.Option(help="play the seed scenarios once everything is up")
    ] = False,
) -> None:
    """Everything: embedded infrastructure where no URL is set, all services, the feed API."""
    from services.ops.stack import run_stack

    settings = _settings()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with run_stack(settings) as running:
        ready = {
            "ready": True,
            "kafka": running.settings.kafka_bootstrap_servers,
            "feed_api": running.feed_api_url,
            "database": redact_url(running.settings.database_dsn()),
            "redis": redact_url(running.settings.redis_dsn()),
        }
        typer.echo(json.dumps(ready), nl=True)
        if demo:
            running.play_demo()
        while not stop.is_set() and running.healthy():
            stop.wait(0.5)


@app.command()
def migrate(
    schema: Annotated[list[str] | None, typer.Option(help="only these schemas")] = None,
) -> None:
    """Apply the SQL migrations of every service schema (idempotent)."""
    from services.common.migrations import SERVICE_MIGRATIONS
    from services.common.migrations import migrate as apply

    settings = _settings()
    for name in schema or list(SERVICE_MIGRATIONS):
        applied = apply(settings.database_dsn(), name)
        typer.echo(json.dumps({"schema": name, "applied": applied}))


@app.command()
def topics() -> None:
    """Create every topic of the contract and its dead-letter topic (idempotent)."""
    from services.common.topics import ensure_topics

    settings = _settings()
    created = ensure_topics(
        settings.kafka_config(), settings.topic_partitions, settings.topic_replication_factor
    )
    typer.echo(json.dumps({"created": created}))


def main() -> None:
    app()


_ = Path  # re-exported for subcommand modules that take paths
