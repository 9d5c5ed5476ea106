"""The loop of ``lunas run``: start the stack, show it, play the demo, supervise, stop on Ctrl-C.

SIGINT and SIGTERM raise ``KeyboardInterrupt`` wherever the main thread is (starting a server,
a demo poll, a wait); every wait here is short, and the stack's ``finally`` stops what started.
"""

from __future__ import annotations

import signal
import sys
import time
from typing import Any, NoReturn

import structlog
from rich.console import Console

from services.common.logging import configure_logging
from services.common.settings import Settings, redact_url
from services.ops.stack.demo import DemoRun, SellerFeed, demo_steps, new_tag, now_utc
from services.ops.stack.demo import seller_token as make_token
from services.ops.stack.screen import Screen, next_steps
from services.ops.stack.start import RunningStack, run_stack

log = structlog.get_logger(__name__)
LINGER_S = 3.0


def _interrupt(_sig: int, _frame: Any) -> NoReturn:
    raise KeyboardInterrupt


def run(settings: Settings, *, demo: bool) -> int:
    """Exit code: 0 after Ctrl-C / SIGTERM, 1 when an embedded server died."""
    on_terminal = sys.stdout.isatty()
    if on_terminal:
        logs = settings.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        configure_logging(settings.log_level, "json", (logs / "lunas-run.log").open("a"))
    else:
        configure_logging(settings.log_level, settings.log_format)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    screen = Screen(Console(), live=on_terminal)
    try:
        with (
            screen,
            run_stack(
                settings, demo=demo, progress=screen.progress, on_report=screen.report
            ) as running,
        ):
            return _serve(running, screen, demo)
    except KeyboardInterrupt:
        log.info("stack.stopped", why="interrupted")
        return 0


def _serve(running: RunningStack, screen: Screen, demo: bool) -> int:
    s = running.settings
    screen.ready(
        {
            "ready": True,
            "kafka": s.kafka_bootstrap_servers,
            "feed_api": running.feed_api_url,
            "database": redact_url(s.database_dsn()),
            "redis": redact_url(s.redis_dsn()),
        }
    )
    ready_at = time.monotonic()
    token = make_token(s, now_utc())
    rejected_hint = trace_hint = None
    if demo:
        steps = demo_steps(new_tag(), now_utc())
        screen.demo = DemoRun(s, steps, SellerFeed(running.feed_api_url, token))
        rejected_hint = _rejection_hint(screen.demo)
        trace_hint = _trace_hint(screen.demo)
    screen.hints = next_steps(
        running.feed_api_url, token, str(s.data_dir), rejected_hint, trace_hint
    )
    reported = False
    while running.check():
        run = screen.demo
        if run is not None and not reported:
            run.tick(0.1)
        else:
            time.sleep(0.2)
        # After the last outcome, a few seconds more for the notifications to arrive.
        if run is not None and not reported and run.settled(LINGER_S):
            reported = True
            _log_timings(run, ready_at)
            screen.demo_summary()
            run.close()
        screen.refresh()
    return 1


def _log_timings(run: DemoRun, ready_at: float) -> None:
    first = None if run.first_outcome_at is None else round(run.first_outcome_at - ready_at, 2)
    last = None if run.finished_at is None else round(run.finished_at - ready_at, 2)
    outcomes = [s.outcome for s in run.book.states]
    log.info("demo.finished", steps=len(outcomes), first_outcome_after_ready_s=first,
             last_outcome_after_ready_s=last,
             without_outcome=outcomes.count("no outcome"))  # fmt: skip


def _trace_hint(run: DemoRun) -> str | None:
    """A ``lunas trace`` of the pickup cancellation the demo approves: across the three
    services, to the seller's notifications."""
    approvals = [
        s.step.envelope
        for s in run.book.states
        if s.step.envelope.type == "pickup.cancel.decide"
        and s.step.envelope.data_dict().get("decision") == "approve"
    ]
    if not approvals:
        return None
    return (
        f".venv/bin/lunas trace {approvals[0].id}   (the approval: invoice voided, payment "
        "released, the seller told; --json for scripts)"
    )


def _rejection_hint(run: DemoRun) -> str | None:
    """A ``lunas publish --wait`` that is refused: resolving the payment the demo cancelled."""
    cancels = [s.step.envelope for s in run.book.states if s.step.envelope.type == "payment.cancel"]
    if not cancels:
        return None
    env = cancels[0]
    data = f'{{"payment_no": "{env.subject}", "resolved_date": "{now_utc().date()}"}}'
    return (
        f".venv/bin/lunas publish --wait --type payment.resolve --subject {env.subject} "
        f"--tenant {env.tenantid} --actor admin:ani --data '{data}'   (refused: exit 3)"
    )
