"""The ``lunas`` command line: run the stack, serve one service, and the operators' tools."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import Annotated

import typer

from services.common.settings import Settings
from services.ops import console
from services.ops.kafka_cmds import dlq_app, publish_command, replay_command
from services.ops.notify_cmds import feed_app, token_app
from services.ops.outbox_cmds import outbox_app
from services.ops.payment_cmds import invoice_app, payment_app
from services.ops.pickup_cmds import pickup_app
from services.ops.services import PROCESSES, SERVICES
from services.ops.services import serve as serve_process
from services.ops.trace_view import trace_command

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help=__doc__, rich_markup_mode="markdown"
)
schemas_app = typer.Typer(no_args_is_help=True, help="The wire contract as files.")
app.add_typer(dlq_app, name="dlq")
app.add_typer(schemas_app, name="schemas")
app.add_typer(token_app, name="token")
app.add_typer(feed_app, name="feed")
app.add_typer(payment_app, name="payment")
app.add_typer(invoice_app, name="invoice")
app.add_typer(outbox_app, name="outbox")
app.add_typer(pickup_app, name="pickup")
app.command("publish")(publish_command)
app.command("replay")(replay_command)
app.command("trace")(trace_command)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"lunas {metadata.version('lunas')}")
        raise typer.Exit()


@app.callback()
def _lunas(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    # Help texts are Markdown (rich_markup_mode above): `code` renders without its backticks.
    pass


JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _settings() -> Settings:
    return console.settings()


@app.command()
def run(
    demo: Annotated[
        bool, typer.Option(help="play the seed scenarios once everything is up")
    ] = False,
) -> None:
    """Everything: embedded infrastructure where no URL is set, all services, the feed API."""
    try:
        from services.ops.stack.command import run as run_all
    except ModuleNotFoundError as exc:  # an installed wheel or the image: no development tooling
        console.fail(
            f"lunas run is development tooling and is not installed here ({exc.name}); "
            "run it from a checkout: make run",
            code=2,
        )

    code = run_all(console.settings(stack_env=False, configure=False), demo=demo)
    if code:
        raise typer.Exit(code)  # a part of the stack died; its log tail was logged


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
def topics(
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="also raise partitions and retention of existing topics to the settings "
            "(stop producers first: added partitions move keys)",
        ),
    ] = False,
) -> None:
    """Create every topic of the contract and its dead-letter topic (idempotent); exit 1 when
    `--fix` could not change something or a problem remains."""
    from services.common.topics import check_topics, ensure_topics_for, fix_topics

    settings = _settings()
    if not fix:
        created = ensure_topics_for(settings)
        problems = [p.line() for p in check_topics(settings)]
        typer.echo(json.dumps({"created": created, "problems": problems}))
        return
    changed, refused = fix_topics(settings)
    remaining = [p.line() for p in check_topics(settings)]
    typer.echo(json.dumps({"changed": changed, "refused": refused, "problems": remaining}))
    if refused or remaining:
        raise typer.Exit(1)


ServiceName = StrEnum(  # type: ignore[misc]
    "ServiceName", {name.replace("-", "_"): name for name in PROCESSES}
)


@app.command()
def serve(
    name: ServiceName,
    processes: Annotated[
        int,
        typer.Option(
            min=1, help="payment/pickup/notify: this many members of the service's consumer group"
        ),
    ] = 1,
) -> None:
    """One service in this process, until SIGTERM (finishes the batch in hand, then exits 0)."""
    settings = _settings()
    if processes > 1:
        from services.common.runtime.service import run_members

        if str(name) not in {spec.name for spec in SERVICES}:
            # The HTTP APIs share one port: run more of them behind a load balancer instead.
            raise typer.BadParameter("only the consumer-group services run as several processes")

        member = [sys.executable, "-m", "services.ops", "serve", str(name)]
        run_members(member, processes, settings)
        return
    serve_process(str(name), settings)


@app.command()
def status(
    as_json: JsonFlag = False,
    partitions: Annotated[
        bool, typer.Option("--partitions", help="every partition, outbox ages, inbox outcomes")
    ] = False,
) -> None:
    """Per group: lag, commands waiting, dead letters, outbox backlog (--partitions: detail)."""
    from services.ops.status import collect
    from services.ops.status_view import show_compact, show_status

    report = collect(_settings())
    if as_json:
        console.emit_json(report)
    elif partitions:
        show_status(report)
    else:
        show_compact(report)
    if "error" in report["kafka"] or "error" in report["database"]:
        raise typer.Exit(1)


@app.command()
def verify(as_json: JsonFlag = False) -> None:
    """Invariants of the services and the runtime, and a state digest; exit 1 on a violation."""
    import psycopg

    from services.ops.verify import topic_checks
    from services.ops.verify import verify as run_verify

    settings = _settings()
    try:
        report = run_verify(settings.database_dsn())
    except (RuntimeError, psycopg.Error) as exc:
        console.fail(str(exc))
    if settings.kafka_bootstrap_servers:
        topic_checks(settings, report)
    if as_json:
        console.emit_json(report.as_dict())
    else:
        for violation in report.violations:
            console.line(f"VIOLATION {violation}")
        for warning in report.warnings:
            console.line(f"warning {warning}")
        for schema, digest in sorted(report.digests.items()):
            console.line(f"digest {schema} {digest or '-'}")
        console.line(f"digest all {report.digest}")
        console.line("ok" if report.ok else f"{len(report.violations)} violation(s)")
    if not report.ok:
        raise typer.Exit(1)


@schemas_app.command("export")
def schemas_export(
    out: Annotated[Path, typer.Option("--out", help="directory to write into")],
) -> None:
    """JSON Schema of every message type and the AsyncAPI 3.0 document."""
    from schemas.export import export

    written = export(Path(out))
    console.emit_json({"written": [str(p) for p in written]})


def main() -> None:
    app()
