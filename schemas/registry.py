"""Which payload model each message `type` carries, and which topic carries which types."""

from __future__ import annotations

from types import MappingProxyType

from pydantic import BaseModel

from schemas import notification, payment, pickup, rejection, topics
from schemas.fields import Command, Event

_COMMANDS: dict[str, type[Command]] = {**payment.COMMANDS, **pickup.COMMANDS}
_EVENTS: dict[str, type[Event]] = {
    **payment.EVENTS,
    **pickup.EVENTS,
    **rejection.EVENTS,
    **notification.EVENTS,
}
MODELS: MappingProxyType[str, type[BaseModel]] = MappingProxyType({**_COMMANDS, **_EVENTS})

COMMAND_TYPES: frozenset[str] = frozenset(_COMMANDS)
EVENT_TYPES: frozenset[str] = frozenset(_EVENTS)

TOPIC_TYPES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        topics.PAYMENT_COMMANDS: tuple(payment.COMMANDS),
        topics.PAYMENT_EVENTS: (*payment.EVENTS, "command.rejected"),
        topics.PICKUP_COMMANDS: (
            "pickup.arrange",
            "pickup.cancel.decide",
            "pickup.status",
            "pickup.void.retry",
            "pickup.void.mark",
        ),
        topics.PICKUP_CANCEL_REQUESTED: ("pickup.cancel.requested",),
        topics.PICKUP_CANCEL_DECIDED: ("pickup.cancel.decided",),
        topics.PICKUP_EVENTS: (
            "pickup.arranged",
            "pickup.cancel.pending",
            "pickup.status.updated",
            "pickup.cancel.reminder",
            "pickup.cancel.escalated",
            "pickup.void.failed",
            "command.rejected",
        ),
        topics.NOTIFICATIONS: tuple(notification.EVENTS),
    }
)
"""Message types that may appear on each topic (docs/ARCHITECTURE.md "Wire contract"); anything
else there is misrouted."""


REJECTIONS_TOPIC: MappingProxyType[str, str] = MappingProxyType(
    {
        topics.PAYMENT_COMMANDS: topics.PAYMENT_EVENTS,
        topics.PICKUP_COMMANDS: topics.PICKUP_EVENTS,
        topics.PICKUP_CANCEL_REQUESTED: topics.PICKUP_EVENTS,
    }
)
"""Where the refusal (`command.rejected`) of a command arriving on each command topic goes."""


def data_model_for(type: str) -> type[BaseModel]:
    """The payload model of a message type; `KeyError` if the type is not in the contract."""
    return MODELS[type]


def is_command(type: str) -> bool:
    return type in COMMAND_TYPES


def aggregate_field(type: str) -> str | None:
    """The `data` field that the envelope `subject` must equal (None: no such field)."""
    model = MODELS[type]
    field: str | None = getattr(model, "aggregate_field", None)
    return field
