"""``lunas trace``'s tree: the nodes (commands, events, notifications) and how they are put
together from what ``services/ops/trace.py`` read. No IO here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas import Envelope, is_command
from schemas.tracing import trace_id

MAX_NODES = 500


@dataclass(frozen=True)
class Inbox:
    """A command as a service's inbox recorded it."""

    schema: str
    tenant_id: str
    source: str
    message_id: str
    message_type: str
    outcome: str
    topic: str
    partition: int
    offset: int
    processed_at: datetime


@dataclass(frozen=True)
class Emitted:
    """A message a service emitted (an outbox row or a record of a topic), decoded."""

    schema: str | None  # the emitting service's schema; None for a notification
    topic: str
    envelope: Envelope
    at: datetime  # when it was emitted: outbox commit time, else the record's or envelope's


@dataclass
class Node:
    kind: str  # "command", "event" or "notification"
    id: str
    type: str
    at: datetime | None
    service: str | None = None
    topic: str | None = None
    subject: str | None = None
    actor: str | None = None
    outcome: str | None = None  # a command's inbox outcome; an event's own type
    trace_id: str | None = None
    recipient: str | None = None
    title: str | None = None
    delay_s: float | None = None  # from its cause (a root: from the command's `time`)
    note: str | None = None
    children: list[Node] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "id": self.id,
            "type": self.type,
            "at": self.at.isoformat() if self.at else None,
            "delay_s": self.delay_s,
        }
        optional = {
            "service": self.service,
            "topic": self.topic,
            "subject": self.subject,
            "actor": self.actor,
            "outcome": self.outcome,
            "trace_id": self.trace_id,
            "recipient": self.recipient,
            "title": self.title,
            "note": self.note,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        out["children"] = [c.as_dict() for c in self.children]
        return out

    def walk(self) -> Iterable[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class Found:
    """What the reader found, keyed for assembling."""

    inbox: dict[str, list[Inbox]] = field(default_factory=dict)  # message id → rows
    commands: dict[str, Envelope] = field(default_factory=dict)  # message id → as sent
    caused: dict[str, list[Emitted]] = field(default_factory=dict)  # causationid → messages
    notes: list[str] = field(default_factory=list)


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds(), 3)


def command_node(row: Inbox, envelope: Envelope | None, parent_at: datetime | None) -> Node:
    sent_at = envelope.time if envelope is not None else None
    return Node(
        kind="command",
        id=row.message_id,
        type=row.message_type,
        at=row.processed_at,
        service=row.schema,
        topic=row.topic,
        subject=envelope.subject if envelope else None,
        actor=envelope.actor if envelope else None,
        outcome=row.outcome,
        trace_id=trace_id(envelope.traceparent) if envelope else None,
        delay_s=_seconds(row.processed_at, parent_at or sent_at),
    )


def emitted_node(item: Emitted, parent_at: datetime | None) -> Node:
    env = item.envelope
    if env.type == "notification.created":
        data = env.data_dict()
        return Node(
            kind="notification",
            id=env.id,
            type=str(data.get("kind", env.type)),
            at=item.at,
            service="notify",
            topic=item.topic,
            recipient=str(data.get("recipient")),
            title=str(data.get("title")),
            trace_id=trace_id(env.traceparent),
            delay_s=_seconds(item.at, parent_at),
        )
    return Node(
        kind="event",
        id=env.id,
        type=env.type,
        at=item.at,
        service=item.schema,
        topic=item.topic,
        subject=env.subject,
        actor=env.actor,
        outcome=_event_outcome(env),
        trace_id=trace_id(env.traceparent),
        delay_s=_seconds(item.at, parent_at),
    )


def _event_outcome(env: Envelope) -> str:
    data = env.data_dict()
    if env.type == "command.rejected":
        return f"rejected:{data.get('code')}"
    if env.type == "command.waiting":
        return "waiting"
    return "applied"


def assemble(root_id: str, found: Found) -> list[Node]:
    """The tree(s) of ``root_id``: one per inbox that consumed it (normally one)."""
    roots: list[Node] = []
    budget = [MAX_NODES]
    for row in found.inbox.get(root_id, []):
        node = command_node(row, found.commands.get(row.message_id), None)
        _grow(node, row.tenant_id, found, budget, seen={row.message_id})
        roots.append(node)
    return roots


def _grow(node: Node, tenant: str, found: Found, budget: list[int], seen: set[str]) -> None:
    for item in sorted(found.caused.get(node.id, []), key=lambda e: (e.at, e.envelope.id)):
        env = item.envelope
        if env.tenantid != tenant or env.id in seen or budget[0] <= 0:
            continue
        seen.add(env.id)
        budget[0] -= 1
        if is_command(env.type):
            # A command a service sent another (pickup_svc's invoice.void to payment_svc).
            rows = [r for r in found.inbox.get(env.id, []) if r.tenant_id == tenant]
            if rows:
                # One node: sent by one service (its outbox), decided by the other (its inbox).
                child = command_node(rows[0], env, node.at)
                child.note = f"sent by {item.schema}"
                node.children.append(child)
                _grow(child, tenant, found, budget, seen)
                continue
            child = emitted_node(item, node.at)
            child.kind, child.outcome = "command", "not consumed yet"
            node.children.append(child)
            continue
        child = emitted_node(item, node.at)
        node.children.append(child)
        _grow(child, tenant, found, budget, seen)


def summary(roots: Sequence[Node]) -> Mapping[str, Any]:
    """For scripts (``--json``): the trees, and the types and kinds found anywhere in them."""
    nodes = [n for root in roots for n in root.walk()]
    return {
        "trees": [r.as_dict() for r in roots],
        "types": sorted({n.type for n in nodes if n.kind != "notification"}),
        "notifications": sorted(
            {f"{n.type}:{n.recipient}" for n in nodes if n.kind == "notification"}
        ),
        "trace_ids": sorted({n.trace_id for n in nodes if n.trace_id}),
    }
