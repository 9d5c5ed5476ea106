"""Topic names of the wire contract (docs/ARCHITECTURE.md "Wire contract") and the dead-letter
topic next to each."""

from __future__ import annotations

PAYMENT_COMMANDS = "payment.commands"
PAYMENT_EVENTS = "payment.events"
PICKUP_COMMANDS = "pickup.commands"
PICKUP_CANCEL_REQUESTED = "pickup.cancel.requested"
PICKUP_CANCEL_DECIDED = "pickup.cancel.decided"
PICKUP_EVENTS = "pickup.events"
NOTIFICATIONS = "notifications"

ALL_TOPICS: tuple[str, ...] = (
    PAYMENT_COMMANDS,
    PAYMENT_EVENTS,
    PICKUP_COMMANDS,
    PICKUP_CANCEL_REQUESTED,
    PICKUP_CANCEL_DECIDED,
    PICKUP_EVENTS,
    NOTIFICATIONS,
)


def dlq_topic(topic: str) -> str:
    """Where a consumer of `topic` parks messages it can never process."""
    return f"{topic}.dlq"
