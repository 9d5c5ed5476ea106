"""A command ready to produce (topic, key, bytes), built with the contract's own codec."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas import encode, kafka_key, make_event


@dataclass(frozen=True, slots=True)
class Command:
    """One record to produce: its topic, key and bytes, and what it is."""

    id: str
    type: str
    topic: str
    key: bytes
    value: bytes
    duplicate: bool = False


def build(
    type_: str,
    subject: str,
    data: dict[str, Any],
    *,
    msg_id: str,
    tenant: str,
    actor: str,
    source: str,
    topic: str,
    time: datetime,
) -> Command:
    """A command envelope validated and encoded exactly as the contract's codec does it."""
    env = make_event(
        type_,
        data,
        id=msg_id,
        source=source,
        time=time,
        tenantid=tenant,
        subject=subject,
        actor=actor,
    )
    return Command(msg_id, type_, topic, kafka_key(env), encode(env))


def unique_count(commands: list[Command]) -> int:
    """Commands with an id not seen before in the list (what the inbox will hold)."""
    return sum(1 for c in commands if not c.duplicate)
