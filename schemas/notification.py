"""Payload of `notification.created` on `notifications`: one user-facing fact for one reader."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, JsonValue, field_serializer

from schemas.fields import Event, EventId, Id, LongText, ShortText, Timestamp

NotificationKind = Literal[
    "pickup_cancel_requested",
    "pickup_cancel_approved",
    "pickup_cancel_rejected",
    "pickup_arranged",
    "pickup_cancel_reminder",
    "pickup_cancel_escalated",
    "pickup_void_failed",
    "payment_cancelled",
    "payment_resolved",
    "invoice_voided",
    "payment_released",
    "payment_cancel_requested",
    "payment_cancel_rejected",
    "payment_bounced",
    "giro_overdue",
    "command_rejected",
    "billing_undo_rejected",
    "command_waiting",
]
Locale = Literal["id", "en"]
RECIPIENT_PATTERN = r"^[A-Za-z0-9._/:@-]{1,128}$"


def _sorted(value: JsonValue) -> JsonValue:
    # Free-form data is written with sorted keys so its bytes do not depend on insertion order.
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


class NotificationCreated(Event):
    aggregate_field: ClassVar[str | None] = "notification_id"
    notification_id: Id
    tenantid: Id
    recipient: str = Field(pattern=RECIPIENT_PATTERN)
    kind: NotificationKind
    title: ShortText
    body: LongText
    locale: Locale = "id"
    data: dict[str, JsonValue] = Field(default_factory=dict)
    created_at: Timestamp
    source_event_id: EventId

    @field_serializer("data")
    def _data_sorted(self, data: dict[str, JsonValue]) -> Any:
        return _sorted(data)


EVENTS: dict[str, type[Event]] = {"notification.created": NotificationCreated}
