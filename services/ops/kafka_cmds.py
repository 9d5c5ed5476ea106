"""The Kafka-facing operator commands: ``lunas publish``, ``lunas dlq …`` and ``lunas replay``."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from confluent_kafka import KafkaException
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.ops import console, dlq, kafka_io, publish, replay_run
from services.ops.kafka_io import OpsError
from services.ops.outcome import Outcome, OutcomeWatch, waiting_line
from services.ops.replay import PlanError, ReplayPlan, Start, parse_time

dlq_app = typer.Typer(no_args_is_help=True, help="Dead letters: list, show, redrive.")

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


# --- publish --------------------------------------------------------------------------------


def publish_command(
    file: Annotated[
        str | None, typer.Option("--file", "-f", help="JSON, JSON array or JSONL; - for stdin")
    ] = None,
    type: Annotated[str | None, typer.Option("--type", help="command type")] = None,
    subject: Annotated[str | None, typer.Option(help="aggregate id")] = None,
    tenant: Annotated[str | None, typer.Option(help="tenant id")] = None,
    actor: Annotated[
        str | None, typer.Option(help="`user:<id>`, `admin:<id>`, `system:<svc>`")
    ] = None,
    data: Annotated[str | None, typer.Option(help="the payload as JSON")] = None,
    id: Annotated[str | None, typer.Option("--id", help="command id (default: uuid4)")] = None,
    source: Annotated[str, typer.Option(help="CloudEvents source")] = "/ops/cli",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="validate only")] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="send the valid ones even if some are not")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="wait for each command's events or its rejection")
    ] = False,
    wait_timeout: Annotated[float, typer.Option(help="seconds --wait waits at most")] = 30.0,
    as_json: JsonFlag = False,
) -> None:
    """Validate commands as the services will, then send each to the topic of its type.

    Exit 0 when sent (with --wait: and applied), 1 when refused or not delivered, 3 when
    --wait saw a rejection, 4 when --wait saw nothing in time, 5 when a command was still
    waiting (for what it names: an invoice not issued yet) when --wait-timeout ran out.
    """
    try:
        items = _publish_items(file, type, subject, tenant, actor, data, id, source)
    except publish.InputError as exc:
        console.fail(str(exc), code=2)
    checked = publish.check(items)
    blocked = bool(checked.refused) and not skip_invalid
    deliveries: list[kafka_io.Delivery] = []
    outcomes: dict[str, Outcome] = {}
    if not dry_run and not blocked and checked.outgoing:
        try:
            settings = console.settings()
            watch = OutcomeWatch(settings, {o.topic for o in checked.outgoing}) if wait else None
            deliveries = kafka_io.deliver_located(
                kafka_io.producer(settings),
                [(o.topic, o.key, o.value, o.headers()) for o in checked.outgoing],
            )
            if watch is not None:
                sent = [
                    o.id for o, d in zip(checked.outgoing, deliveries, strict=True) if not d.error
                ]
                outcomes = watch.wait(sent, wait_timeout, on_waiting=_waiting_shower(as_json))
        except (RuntimeError, KafkaException) as exc:
            console.fail(str(exc))
    report = _publish_report(checked, deliveries, outcomes, dry_run, blocked)
    _show_publish(report, as_json, blocked)
    if blocked or report["failed"]:
        raise typer.Exit(1)
    if any(o.rejection for o in outcomes.values()):
        raise typer.Exit(3)
    if wait and any(o.state == "none" for o in outcomes.values()):
        raise typer.Exit(4)
    if wait and any(o.state == "waiting" for o in outcomes.values()):
        raise typer.Exit(5)


def _waiting_shower(as_json: bool) -> Callable[[str, dict[str, Any]], None]:
    """Shows a ``command.waiting`` as it comes (on stderr under --json, stdout stays JSON)."""

    def show(command_id: str, waiting: dict[str, Any]) -> None:
        line = waiting_line(command_id, waiting)
        if waiting.get("stage") == "halfway":
            line += " (half of its time has passed)"
        if as_json:
            typer.echo(line, err=True)
        else:
            console.line(line + "; still waiting")

    return show


def _publish_report(
    checked: publish.Checked,
    deliveries: list[kafka_io.Delivery],
    outcomes: dict[str, Outcome],
    dry_run: bool,
    blocked: bool,
) -> dict[str, Any]:
    pairs = list(zip(checked.outgoing, deliveries, strict=False))
    return {
        "dry_run": dry_run,
        "valid": [
            {"item": o.index, "id": o.id, "type": o.type, "topic": o.topic}
            for o in checked.outgoing
        ],
        "refused": [r.as_dict() for r in checked.refused],
        "delivered": sum(1 for _, d in pairs if d.error is None),
        "sent_to": [
            {
                "id": o.id,
                "type": o.type,
                "topic": o.topic,
                "partition": d.partition,
                "offset": d.offset,
            }
            for o, d in pairs
            if d.error is None
        ],
        "failed": [
            {"item": o.index, "id": o.id, "error": d.error} for o, d in pairs if d.error is not None
        ],
        "outcomes": [o.as_dict() for o in outcomes.values()] if outcomes else None,
        "sent": not dry_run and not blocked,
    }


def _publish_items(
    file: str | None,
    type_: str | None,
    subject: str | None,
    tenant: str | None,
    actor: str | None,
    data: str | None,
    msg_id: str | None,
    source: str,
) -> list[tuple[int, Any]]:
    flags = {"--type": type_, "--subject": subject, "--tenant": tenant, "--actor": actor}
    if file is not None:
        if any(v is not None for v in (*flags.values(), data, msg_id)):
            raise publish.InputError("give either --file or the message flags, not both")
        text = sys.stdin.read() if file == "-" else _read_file(file)
        return publish.parse_documents(text)
    missing = [name for name, value in {**flags, "--data": data}.items() if value is None]
    if missing:
        raise publish.InputError(f"give --file, or all of: {', '.join(missing)}")
    envelope = publish.from_flags(
        type=type_ or "",
        subject=subject or "",
        tenant=tenant or "",
        actor=actor or "",
        data=data or "",
        id=msg_id or str(uuid.uuid4()),
        source=source,
        time=datetime.now(UTC),
    )
    return [(1, envelope)]


def _read_file(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise publish.InputError(f"cannot read {name}: {exc.strerror}") from None


def _show_publish(report: dict[str, Any], as_json: bool, blocked: bool) -> None:
    if as_json:
        console.emit_json(report)
        return
    for refused in report["refused"]:
        console.line(f"refused item {refused['item']} ({refused['type']}): {refused['reason']}")
        for err in refused["errors"]:
            console.line(f"  {err['loc'] or '<message>'}: {err['message']}")
    if blocked:
        console.line("nothing sent: fix the refused items or pass --skip-invalid")
    elif report["dry_run"]:
        console.line(f"{len(report['valid'])} valid command(s); dry run, nothing sent")
    else:
        console.line(f"delivered {report['delivered']} of {len(report['valid'])}")
    for sent in report["sent_to"]:
        where = f"{sent['topic']} partition {sent['partition']} offset {sent['offset']}"
        console.line(f"sent {sent['id']} ({sent['type']}) to {where}")
    for failure in report["failed"]:
        console.line(f"not delivered: item {failure['item']} ({failure['id']}): {failure['error']}")
    for outcome in report["outcomes"] or []:
        _show_outcome(outcome)


def _show_outcome(outcome: dict[str, Any]) -> None:
    rejected = outcome["rejected"]
    if rejected is not None:
        console.line(f"REJECTED {outcome['id']}: {rejected['code']}: {rejected['message']}")
    elif outcome.get("state") == "waiting":
        console.line(f"STILL WAITING: {waiting_line(outcome['id'], outcome['waiting'])}")
    elif not outcome["events"]:
        console.line(f"no outcome for {outcome['id']} in time (neither an event, a rejection nor "
                     "command.waiting: is its service running? see lunas status)")  # fmt: skip
    for event in outcome["events"] if rejected is None else []:
        console.line(f"outcome of {outcome['id']}: {event['type']} {event['subject']} "
                     f"({event['topic']}/{event['partition']}@{event['offset']})")  # fmt: skip


# --- dlq ------------------------------------------------------------------------------------


@dlq_app.command("list")
def dlq_list(
    topic: Annotated[
        str | None, typer.Option(help="a DLQ topic or its source topic (default: all .dlq)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Every dead letter: where it came from, why, and which message it was."""
    settings = console.settings()
    try:
        letters = dlq.read_letters(settings, dlq.dlq_topics(settings, topic))
    except (OpsError, KafkaException) as exc:
        console.fail(str(exc))
    rows = [letter.summary() for letter in letters]
    if as_json:
        console.emit_json(rows)
        return
    columns = ["topic", "partition", "offset", "time", "error", "service", "original", "id", "type"]
    console.table(
        f"{len(rows)} dead letter(s)",
        columns,
        [
            [
                r["topic"], r["partition"], r["offset"], r["time"], r["error"], r["service"],
                f"{r['original_topic']}/{r['original_partition']}@{r['original_offset']}",
                r["message_id"], r["message_type"],
            ]
            for r in rows
        ],
    )  # fmt: skip


@dlq_app.command("show")
def dlq_show(topic: str, partition: int, offset: int, as_json: JsonFlag = False) -> None:
    """One dead letter with its headers and body."""
    settings = console.settings()
    try:
        letter = dlq.show_letter(settings, topic, partition, offset)
    except (OpsError, KafkaException) as exc:
        console.fail(str(exc))
    detail = letter.detail()
    if as_json:
        console.emit_json(detail)
        return
    show_letter_detail(detail)


def show_letter_detail(d: dict[str, Any]) -> None:
    """A dead letter for a person: why first, then where it came from, then what it was."""
    console.line(f"dead letter {d['topic']}/{d['partition']}@{d['offset']}  ({d['time']})")
    console.line(f"  why      {d['error']}: {d['error_detail'] or '-'}")
    console.line(f"  service  {d['service'] or '-'}")
    console.line(
        f"  from     {d['original_topic']}/{d['original_partition']}@{d['original_offset']}"
    )
    console.line(f"  message  {d['message_type'] or '-'} {d['message_id'] or '(no id)'}")
    console.line(f"  key      {d['key'] or '-'}")
    for name, value in d["headers"]:
        if not str(name).startswith("lunas."):
            console.line(f"  header   {name}: {value}")
    body = d["body"]
    text = body if isinstance(body, str) else json.dumps(body, indent=2, ensure_ascii=False)
    if text is not None and len(text) > 4000:
        text = text[:4000] + f"\n  … {len(text) - 4000} more characters (--json for all)"
    console.line("  body")
    for line in (text or "-").splitlines():
        console.line(f"    {line}")
    console.line(
        f"redrive: lunas dlq redrive {d['topic']} --partition {d['partition']}"
        f" --offset {d['offset']}"
    )


@dlq_app.command("redrive")
def dlq_redrive(
    topic: str,
    partition: Annotated[int | None, typer.Option(help="with --offset: one letter")] = None,
    offset: Annotated[int | None, typer.Option(help="with --partition: one letter")] = None,
    all_: Annotated[bool, typer.Option("--all", help="every letter not redriven before")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would be sent")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Republish dead letters to their original topics (key, value, original headers)."""
    one = partition is not None or offset is not None
    if one == all_ or (one and (partition is None or offset is None)):
        console.fail("give either --partition P --offset O, or --all", code=2)
    settings = console.settings()
    only = (partition, offset) if partition is not None and offset is not None else None
    try:
        report = dlq.redrive(settings, topic, only=only, dry_run=dry_run)
    except (OpsError, KafkaException) as exc:
        console.fail(str(exc))
    if as_json:
        console.emit_json(report.as_dict())
    else:
        verb = "would redrive" if dry_run else "redrove"
        count = len(report.selected) if dry_run else report.delivered
        console.line(f"{verb} {count} letter(s) from {topic}")
        for note in report.notes:
            console.line(f"note: {note}")
        for failure in report.failed:
            console.line(f"not delivered: offset {failure['offset']}: {failure['delivery_error']}")
    if report.failed:
        raise typer.Exit(1)


# --- replay ---------------------------------------------------------------------------------


def replay_command(
    group: Annotated[str, typer.Option(help="consumer group, e.g. lunas.payment")],
    topic: Annotated[str, typer.Option(help="topic whose offsets move")],
    from_offset: Annotated[int | None, typer.Option(help="replay from this offset")] = None,
    from_time: Annotated[str | None, typer.Option(help="ISO 8601 time with a zone")] = None,
    to_earliest: Annotated[bool, typer.Option(help="replay from the log start")] = False,
    partition: Annotated[int | None, typer.Option(help="only this partition")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show the plan only")] = False,
    allow_skip: Annotated[
        bool, typer.Option(help="allow moving forward (messages would be skipped)")
    ] = False,
    follow: Annotated[bool, typer.Option(help="show progress until the group is back")] = False,
    follow_timeout: Annotated[float | None, typer.Option(help="stop following after s")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Move a consumer group back to an offset, a time or the log start (services dedupe)."""
    chosen = [from_offset is not None, from_time is not None, to_earliest]
    if sum(chosen) != 1:
        console.fail("give exactly one of --from-offset, --from-time, --to-earliest", code=2)
    start: Start = "offset" if from_offset is not None else "time" if from_time else "earliest"
    settings = console.settings()
    try:
        at_ms = parse_time(from_time) if from_time is not None else None
        plan = replay_run.build_plan(
            settings, group, topic, start, offset=from_offset, at_time_ms=at_ms,
            partition=partition,
        )  # fmt: skip
    except (PlanError, OpsError, KafkaException) as exc:
        console.fail(str(exc))
    _show_plan(plan, as_json, dry_run)
    if dry_run:
        return
    if plan.skips() and not allow_skip:
        skipping = [p.partition for p in plan.skips()]
        console.fail(f"partitions {skipping} would move forward and skip messages; "
                     "pass --allow-skip if that is meant")  # fmt: skip
    try:
        replay_run.apply_plan(settings, plan)
    except (OpsError, KafkaException) as exc:
        console.fail(str(exc))
    if not as_json:
        console.line(f"offsets of {group} on {topic} set; start the group's service to replay")
    if follow and not _follow(settings, plan, follow_timeout):
        console.fail("the group did not get back to where it was before the timeout")


def _show_plan(plan: ReplayPlan, as_json: bool, dry_run: bool) -> None:
    if as_json:
        console.emit_json({**plan.as_dict(), "dry_run": dry_run})
        return
    console.table(
        f"replay {plan.group} on {plan.topic} {plan.how}: {plan.total_to_replay()} message(s)",
        ["partition", "committed", "new offset", "to replay", "note"],
        [[p.partition, p.committed, p.new_offset, p.to_replay, p.note] for p in plan.partitions],
    )


def _follow(settings: Any, plan: ReplayPlan, timeout: float | None) -> bool:
    columns = (
        TextColumn(f"{plan.group} on {plan.topic}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("replay", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return replay_run.follow(settings, plan, update, timeout)
