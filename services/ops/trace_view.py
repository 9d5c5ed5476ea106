"""``lunas trace ID`` / ``lunas trace --subject NUMBER --tenant T``: the causal tree on a terminal
(coloured by outcome) or as JSON (``services/ops/trace.py`` reads it)."""

from __future__ import annotations

from typing import Annotated

import psycopg
import typer
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from services.ops import console, kafka_io
from services.ops.trace import TraceError, trace
from services.ops.trace_tree import Node, summary

STYLES = {
    "applied": "green",
    "waiting": "yellow",
    "rejected": "red",
    "dead_lettered": "red",
    "conflict": "red",
}


def _style(node: Node) -> str:
    if node.kind == "notification":
        return "cyan"
    outcome = (node.outcome or "").split(":")[0]
    return STYLES.get(outcome, "white")


def _delay(node: Node) -> str:
    if node.delay_s is None:
        return ""
    return f"+{node.delay_s * 1000:.0f} ms" if node.delay_s < 1 else f"+{node.delay_s:.2f} s"


def label(node: Node) -> Text:
    """One line of the tree: what, outcome, where, when, and the delay from its cause."""
    text = Text()
    text.append(node.type, style=f"bold {_style(node)}")
    if node.kind == "notification":
        text.append(f" → {node.recipient}", style="cyan")
        if node.title:
            text.append(f' "{node.title}"')
    else:
        if node.kind == "command" and node.outcome:
            text.append(f" [{node.outcome}]", style=_style(node))
        if node.subject:
            text.append(f" {node.subject}")
    where = node.service or ""
    when = node.at.strftime("%H:%M:%S.%f")[:-3] if node.at else "?"
    text.append(f"  {where} {when} {_delay(node)}", style="dim")
    if node.kind == "command":
        text.append(f"  id {node.id}", style="dim")
        if node.actor:
            text.append(f" by {node.actor}", style="dim")
    if node.note:
        text.append(f"  ({node.note})", style="dim italic")
    return text


def render(root: Node) -> Tree:
    tree = Tree(label(root))
    _add(tree, root)
    return tree


def _add(tree: Tree, node: Node) -> None:
    for child in node.children:
        _add(tree.add(label(child)), child)


def trace_command(
    command_id: Annotated[
        str | None, typer.Argument(help="the command's id (its CloudEvents `id`)")
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", help="a payment, invoice or order number")
    ] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="the tenant (tenantid)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """What one command led to across the services: its outcome (and wait), its events, the
    commands they sent other services and their outcomes, the notifications and recipients;
    each with its time and the delay from its cause. By command id, or every command about
    `--subject` in `--tenant`."""
    if (command_id is None) == (subject is None):
        console.fail("give a command id, or --subject NUMBER --tenant T", code=2)
    if subject is not None and tenant is None:
        console.fail("--subject needs --tenant", code=2)
    settings = console.settings()
    try:
        roots, notes = trace(settings, command_id, subject=subject, tenant=tenant)
    except TraceError as exc:
        console.fail(str(exc), code=4)
    except (psycopg.Error, kafka_io.OpsError) as exc:
        console.fail(f"cannot read the services' tables or topics: {exc}")
    if as_json:
        console.emit_json({**summary(roots), "notes": notes})
        return
    out = Console(width=200, highlight=False)
    for root in roots:
        out.print(render(root))
        ids = sorted({n.trace_id for n in root.walk() if n.trace_id})
        if ids:
            out.print(Text(f"trace id {', '.join(ids)}", style="dim"))
    for note in notes:
        out.print(Text(f"note: {note}", style="yellow"))
