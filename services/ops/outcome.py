"""``lunas publish --wait``: the outcome of sent commands, read back by ``causationid``.

Before sending, the ends of the topics where the outcomes will appear are taken; afterwards those
topics are read from there (by assignment, no group) until every command has an event it caused,
or a ``command.rejected``. Events of one command commit together, so a short grace after the
first one collects the rest. A ``command.waiting`` is not an outcome: it is shown as it comes
(what the command waits for, until when) and the wait goes on for the command's own outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from schemas import MessageInvalid, decode
from schemas import topics as t
from services.common.runtime.records import Record
from services.common.settings import Settings
from services.ops import kafka_io

OUTCOMES_OF: dict[str, tuple[str, ...]] = {
    t.PAYMENT_COMMANDS: (t.PAYMENT_EVENTS,),
    t.PICKUP_COMMANDS: (t.PICKUP_EVENTS, t.PICKUP_CANCEL_DECIDED),
    t.PICKUP_CANCEL_REQUESTED: (t.PICKUP_EVENTS, t.PICKUP_CANCEL_DECIDED),
}
GRACE_S = 1.0


WAITING = "command.waiting"


@dataclass
class Outcome:
    command_id: str
    events: list[dict[str, Any]] = field(default_factory=list)
    first_at: float | None = None
    # The latest ``command.waiting`` of the command (its data), while no outcome came.
    waiting: dict[str, Any] | None = None

    @property
    def rejection(self) -> dict[str, Any] | None:
        return next((e["data"] for e in self.events if e["type"] == "command.rejected"), None)

    @property
    def state(self) -> str:
        """``applied``, ``rejected``, ``waiting`` (only a ``command.waiting`` seen) or ``none``."""
        if self.rejection is not None:
            return "rejected"
        if self.events:
            return "applied"
        return "waiting" if self.waiting is not None else "none"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.command_id,
            "state": self.state,
            "rejected": self.rejection,
            "waiting": self.waiting,
            "events": self.events,
        }


def waiting_line(command_id: str, waiting: dict[str, Any]) -> str:
    """``waiting for invoice INV-1 until 2026-…``: what a parked command waits for."""
    what = ", ".join(f"{a['kind']} {a['id']}" for a in waiting.get("awaiting", []))
    return f"{command_id} is waiting for {what or 'what it names'} until {waiting.get('until')}"


class OutcomeWatch:
    """Marks the ends of the outcome topics now; ``wait`` reads what came after."""

    def __init__(self, settings: Settings, command_topics: Iterable[str]) -> None:
        topics = sorted({o for c in command_topics for o in OUTCOMES_OF.get(c, ())})
        adm = kafka_io.admin(settings)
        self._consumer: Consumer = kafka_io.reader(settings)
        tps = [(topic, p) for topic in topics for p in kafka_io.topic_partitions(adm, topic)]
        marks = kafka_io.watermarks(self._consumer, tps)
        # The mark can read low by up to a batch: reading a little earlier is harmless here.
        self._consumer.assign([TopicPartition(tp[0], tp[1], marks[tp][1]) for tp in tps])

    def wait(
        self,
        ids: Iterable[str],
        timeout: float,
        on_waiting: Callable[[str, dict[str, Any]], None] = lambda _i, _w: None,
    ) -> dict[str, Outcome]:
        found = {i: Outcome(i) for i in ids}
        deadline = time.monotonic() + timeout
        try:
            while not _complete(found, time.monotonic()) and time.monotonic() < deadline:
                for msg in self._consumer.consume(num_messages=200, timeout=0.2):
                    if msg.error() is None:
                        _take(found, Record.of(msg), on_waiting)
        finally:
            self._consumer.close()
        return found


def _complete(found: dict[str, Outcome], now: float) -> bool:
    return all(o.first_at is not None and now - o.first_at >= GRACE_S for o in found.values())


def _take(
    found: dict[str, Outcome],
    record: Record,
    on_waiting: Callable[[str, dict[str, Any]], None],
) -> None:
    try:
        event = decode(record.value, record.headers)
    except MessageInvalid:
        return
    outcome = found.get(event.causationid or "")
    if outcome is None:
        return
    if event.type == WAITING:
        if not outcome.events:
            outcome.waiting = event.data_dict()
            on_waiting(outcome.command_id, outcome.waiting)
        return
    if outcome.first_at is None:
        outcome.first_at = time.monotonic()
    outcome.events.append(
        {
            "type": event.type,
            "id": event.id,
            "subject": event.subject,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "data": event.data_dict(),
        }
    )
