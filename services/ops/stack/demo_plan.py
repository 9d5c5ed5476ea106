"""The demo's plan and its bookkeeping, without IO: which command to send when, what came of it.

The example commands are fixed files (dated 2025, fixed ids). Sent again to a stack that kept its
Postgres they would be duplicates with no new outcome, and dated long ago they would be refused
instead of waiting. So every run re-ids them: command ids and the numbers of invoices, payments
and orders get the run's tag, and ``time`` is the run's clock (both passed in). A run therefore
never meets an earlier run's data, whatever was kept.

Scenarios are independent and play side by side. Within one, a command is sent at once when it
goes to the same topic with the same key as the one before (the partition keeps them in order);
otherwise it waits for the outcomes of the scenario's earlier commands.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas import CONTENT_TYPE_HEADER, Envelope, decode, encode, kafka_key
from schemas.registry import TOPIC_TYPES
from schemas.tracing import start_traceparent

DEMO_SCENARIOS = (
    "payment_cancel",
    "giro_resolve",
    "sfa_pending",
    "pickup_cancel_approve",
    "pickup_cancel_reject",
)
STEP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Step:
    scenario: str
    number: int  # 1-based within its scenario
    envelope: Envelope
    topic: str
    after_previous: bool  # same topic and key as the step before: no need to wait for it

    @property
    def key(self) -> bytes:
        return kafka_key(self.envelope)


def _topic_of(type_: str) -> str:
    (topic,) = [t for t, types in TOPIC_TYPES.items() if type_ in types and not t.endswith(".dlq")]
    return topic


def retag(envelope: Envelope, names: Mapping[str, str], tag: str, now: datetime) -> Envelope:
    """``envelope`` with the run's id, numbers (``names``: old → new) and time."""
    raw: dict[str, Any] = json.loads(encode(envelope))
    raw["id"] = f"{raw['id']}.{tag}"
    raw["time"] = now.isoformat()
    if "traceparent" in raw:  # a traced example: a trace of this run's own, as a sender starts
        raw["traceparent"] = start_traceparent(f"demo/{tag}/{raw['id']}")
    renamed = _rename(raw, names)
    return decode(json.dumps(renamed).encode(), [CONTENT_TYPE_HEADER])


def _rename(value: Any, names: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list):
        return [_rename(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _rename(v, names) for k, v in value.items()}
    return value


def plan(scenarios: Mapping[str, Sequence[Envelope]], *, tag: str, now: datetime) -> list[Step]:
    """The steps of every scenario, re-id'd for this run. ``scenarios``: name → its commands."""
    subjects = {env.subject for commands in scenarios.values() for env in commands}
    names = {subject: f"{subject}-{tag}" for subject in subjects}
    steps: list[Step] = []
    for scenario, commands in scenarios.items():
        previous: Step | None = None
        for number, original in enumerate(commands, start=1):
            env = retag(original, names, tag, now)
            topic = _topic_of(env.type)
            ordered = previous is not None and (previous.topic, previous.key) == (
                topic,
                kafka_key(env),
            )
            previous = Step(scenario, number, env, topic, ordered)
            steps.append(previous)
    return steps


@dataclass
class StepState:
    step: Step
    sent_at: float | None = None
    outcome: str | None = None  # the first event's type, "rejected:<code>" or "no outcome"
    outcome_at: float | None = None
    detail: str = ""  # the rejection's message
    event_ids: list[str] = field(default_factory=list)
    notifications: list[str] = field(default_factory=list)  # titles, first per recipient

    @property
    def rejected(self) -> bool:
        return bool(self.outcome and self.outcome.startswith("rejected:"))

    def as_dict(self) -> dict[str, Any]:
        env = self.step.envelope
        return {
            "scenario": self.step.scenario,
            "command": env.type,
            "id": env.id,
            "subject": env.subject,
            "outcome": self.outcome,
            "detail": self.detail or None,
            "notifications": self.notifications,
            "seconds": None
            if self.sent_at is None or self.outcome_at is None
            else round(self.outcome_at - self.sent_at, 2),
        }


class DemoBook:
    """Which steps are sent, which have an outcome; fed with what arrives on the topics."""

    def __init__(self, steps: Iterable[Step]) -> None:
        self.states = [StepState(step) for step in steps]
        self._by_id = {s.step.envelope.id: s for s in self.states}
        self._by_event: dict[str, StepState] = {}
        self._scenarios: dict[str, list[StepState]] = {}
        for state in self.states:
            self._scenarios.setdefault(state.step.scenario, []).append(state)

    def ready(self) -> list[StepState]:
        """Steps to send now, in order: every earlier step of their scenario that has no outcome
        yet is linked to them by a chain of same-topic, same-key steps."""
        found: list[StepState] = []
        for states in self._scenarios.values():
            for k, state in enumerate(states):
                if state.sent_at is not None:
                    continue
                open_ = [j for j in range(k) if states[j].outcome is None]
                if open_ and not all(
                    states[i].step.after_previous for i in range(open_[0] + 1, k + 1)
                ):
                    break
                found.append(state)
        return found

    def sent(self, state: StepState, at: float) -> None:
        state.sent_at = at

    def observe(self, event: Envelope, at: float) -> StepState | None:
        """An event on an outcome topic; the step it answers, if it is one of ours."""
        state = self._by_id.get(event.causationid or "")
        if state is None or event.type == "command.waiting":
            return None  # waiting is not an outcome: the command's own event follows
        state.event_ids.append(event.id)
        self._by_event[event.id] = state
        if state.outcome is None:
            state.outcome_at = at
            state.outcome = event.type
            if event.type == "command.rejected":
                data = event.data_dict()
                state.outcome = f"rejected:{data['code']}"
                state.detail = str(data.get("message", ""))
        return state

    def notified(self, source_event_id: str, recipient: str, title: str) -> StepState | None:
        state = self._by_event.get(source_event_id)
        if state is None:
            return None
        line = f"{recipient}: {title}"
        if line not in state.notifications:
            # The commanding actor's own notification first: that is who the step is about.
            at = 0 if recipient == state.step.envelope.actor else len(state.notifications)
            state.notifications.insert(at, line)
        return state

    def expire(self, now: float, timeout: float = STEP_TIMEOUT_S) -> None:
        for state in self.states:
            if (
                state.outcome is None
                and state.sent_at is not None
                and now - state.sent_at > timeout
            ):
                state.outcome, state.outcome_at = "no outcome", now
                state.detail = f"nothing within {timeout:.0f} s (see lunas status)"

    @property
    def done(self) -> bool:
        return all(s.outcome is not None for s in self.states)
