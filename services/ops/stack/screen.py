"""What ``lunas run`` shows: on a terminal a live screen, else JSON lines as before.

On a terminal: the parts as they start, the addresses, each demo step (command → outcome →
notification), the demo seller's feed, restarts, and what to try next. Without one: the ready
line and, after a demo, one JSON summary line on stdout; everything else is in the JSON log.
"""

from __future__ import annotations

import json
import shlex
import time
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from services.notify_svc.web import app_link
from services.ops.stack.demo import DemoRun
from services.ops.stack.supervise import Report


def outcome_style(outcome: str | None) -> str:
    if outcome is None:
        return "yellow"
    if outcome.startswith("rejected:"):
        return "bold red"
    if outcome == "no outcome":
        return "bold magenta"
    return "green"


def next_steps(
    feed_api: str,
    token: str,
    data_dir: str,
    rejected_hint: str | None,
    trace_hint: str | None = None,
) -> list[str]:
    """Commands to paste into another terminal once the stack is up."""
    lines = [
        f"TOKEN={shlex.quote(token)}",
        f'curl -s -H "Authorization: Bearer $TOKEN" {feed_api}/v1/notifications',
        f"open the seller's page: {app_link(feed_api, token)}",
        f".venv/bin/lunas status          (reads {data_dir}/stack.env)",
        ".venv/bin/lunas dlq list",
    ]
    if rejected_hint:
        lines.append(rejected_hint)
    if trace_hint:
        lines.append(trace_hint)
    return lines


FEED_LINES = 5


class Screen:
    """Collects what happens and draws it; ``live`` is False without a terminal."""

    def __init__(self, console: Console, live: bool) -> None:
        self.console, self.live = console, live
        self.parts: list[tuple[str, str]] = []
        self.reports: list[Report] = []
        self.ready_info: dict[str, Any] | None = None
        self.ready_at: float | None = None
        self.demo: DemoRun | None = None
        self.hints: list[str] = []
        self._live: Live | None = None

    def __enter__(self) -> Screen:
        if self.live:
            self._live = Live(
                self.render(), console=self.console, refresh_per_second=8, transient=False
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self.render(), refresh=True)
            self._live.__exit__(None, None, None)
            self._live = None

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self.render())

    def progress(self, part: str, what: str) -> None:
        self.parts.append((part, what))
        self.refresh()

    def report(self, report: Report) -> None:
        self.reports.append(report)
        self.refresh()

    def ready(self, info: dict[str, Any]) -> None:
        self.ready_info = info
        self.ready_at = time.monotonic()
        line = json.dumps(info)
        if self._live is not None:
            self._live.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            print(line, flush=True)  # noqa: T201 - the machine-readable ready line on stdout

    def demo_summary(self) -> None:
        """Without a terminal: the demo's outcomes and the next steps as one JSON line."""
        if self._live is None and self.demo is not None:
            summary = {"demo": [s.as_dict() for s in self.demo.book.states], "try": self.hints}
            print(json.dumps(summary, ensure_ascii=False), flush=True)  # noqa: T201

    def render(self) -> RenderableType:
        parts: list[RenderableType] = []
        if self.ready_info is None:
            rows = Table.grid(padding=(0, 2))
            for part, what in self.parts:
                rows.add_row(Text(part, style="bold"), what)
            parts.append(Panel(rows, title="starting lunas", border_style="yellow"))
        else:
            parts.append(self._addresses())
        if self.demo is not None:
            parts.append(self._demo_table(self.demo))
            parts.append(self._feed(self.demo))
        if self.reports:
            lines = [Text(r.text(), style="yellow") for r in self.reports[-6:]]
            parts.append(Panel(Group(*lines), title="supervision", border_style="yellow"))
        if self.hints and (self.demo is None or self.demo.book.done):
            body = Group(*[Text(h, overflow="fold") for h in self.hints])
            parts.append(Panel(body, title="try next (Ctrl-C stops everything)"))
        return Group(*parts)

    def _addresses(self) -> RenderableType:
        info = self.ready_info or {}
        grid = Table.grid(padding=(0, 2))
        for key in ("kafka", "database", "redis", "feed_api"):
            grid.add_row(Text(key, style="bold"), str(info.get(key)))
        return Panel(grid, title="lunas is up", border_style="green")

    def _demo_table(self, demo: DemoRun) -> RenderableType:
        states = demo.book.states
        done = sum(1 for s in states if s.outcome is not None)
        title = f"demo: {done}/{len(states)} steps"
        if demo.first_outcome_at is not None and self.ready_at is not None:
            title += f", first outcome {demo.first_outcome_at - self.ready_at:.1f} s after ready"
        if demo.finished_at is not None and self.ready_at is not None:
            title += f", last {demo.finished_at - self.ready_at:.1f} s"
        table = Table(title=title, title_justify="left")
        for column in ("scenario", "command", "subject", "outcome"):
            table.add_column(column, no_wrap=True)
        table.add_column("notification (the actor's first)", no_wrap=True, overflow="ellipsis")
        table.add_column("s", no_wrap=True, justify="right", min_width=5)
        for state in states:
            seconds = state.as_dict()["seconds"]
            table.add_row(
                state.step.scenario if state.step.number == 1 else "",
                state.step.envelope.type,
                state.step.envelope.subject,
                Text(state.outcome or ("sent" if state.sent_at is not None else "·"),
                     style=outcome_style(state.outcome)),
                state.notifications[0] if state.notifications else "",
                "" if seconds is None else f"{seconds:.2f}",
            )  # fmt: skip
        refused = [
            Text(f"{s.step.envelope.type} {s.step.envelope.subject}: {s.outcome}: {s.detail}",
                 style=outcome_style(s.outcome), overflow="ellipsis", no_wrap=True)
            for s in states if s.rejected or s.outcome == "no outcome"
        ]  # fmt: skip
        return Group(table, *refused)

    def _feed(self, demo: DemoRun) -> RenderableType:
        feed = demo.feed
        lines = [Text(f"• {t}") for t in feed.titles[:FEED_LINES]] or [
            Text("(nothing yet)", style="dim")
        ]
        if feed.error:
            lines.append(Text(f"feed API: {feed.error}", style="red"))
        title = f"seller {feed.url}/v1/notifications: {feed.unread} unread (newest first)"
        return Panel(Group(*lines), title=title, border_style="cyan")
