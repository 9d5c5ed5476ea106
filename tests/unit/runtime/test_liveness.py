"""Liveness of a service process: the relay alive and keeping up, the consumer loop turning."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

from services.common.runtime.service import ServiceProcess
from services.common.settings import Settings


def _process(**settings: Any) -> ServiceProcess:
    wiring: Any = SimpleNamespace(spec=SimpleNamespace(name="toy"))
    process = ServiceProcess(wiring, Settings(**settings))
    alive = threading.Event()
    process._relay_thread = threading.Thread(target=alive.wait, daemon=True)
    process._relay_thread.start()
    return process


def test_live_while_the_relay_keeps_up_and_the_loop_turns() -> None:
    process = _process(liveness_outbox_age_seconds=300)
    relay: Any = SimpleNamespace(oldest_unsent_s=12.0)
    consumer: Any = SimpleNamespace(beat=time.monotonic())
    assert process._live(relay, consumer)


def test_not_live_when_a_row_waits_longer_than_the_threshold() -> None:
    process = _process(liveness_outbox_age_seconds=300)
    consumer: Any = SimpleNamespace(beat=time.monotonic())
    assert not process._live(SimpleNamespace(oldest_unsent_s=301.0), consumer)  # type: ignore[arg-type]


def test_not_live_when_the_consumer_loop_stalls() -> None:
    process = _process(liveness_stall_seconds=5)
    consumer: Any = SimpleNamespace(beat=time.monotonic() - 6)
    assert not process._live(SimpleNamespace(oldest_unsent_s=None), consumer)  # type: ignore[arg-type]


def test_not_live_once_the_relay_failed() -> None:
    process = _process()
    process._relay_error = RuntimeError("fatal producer")
    consumer: Any = SimpleNamespace(beat=time.monotonic())
    assert not process._live(SimpleNamespace(oldest_unsent_s=0.0), consumer)  # type: ignore[arg-type]
