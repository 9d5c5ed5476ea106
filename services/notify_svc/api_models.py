"""Response models of the feed API, so its OpenAPI document says exactly what a client receives."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from services.notify_svc.feed_store import StoredNotification
from services.notify_svc.model import Locale
from services.notify_svc.templates import Rendered, render

PREVIEW_CHARS = 140


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class NotificationSummary(_Out):
    """One row of the notification list: the title and the start of the body."""

    notification_id: str
    kind: str = Field(examples=["pickup_cancel_rejected"])
    title: str
    preview: str = Field(description=f"The body cut to about {PREVIEW_CHARS} characters.")
    locale: Locale
    created_at: datetime
    read: bool


class NotificationDetail(_Out):
    """Everything about one notification ("Lihat Semua"): the full body and the facts behind it."""

    notification_id: str
    kind: str
    title: str
    body: str
    locale: Locale
    data: dict[str, JsonValue] = Field(
        description="Facts the notification is about: order_id, payment_no, reasons, bills…"
    )
    created_at: datetime
    read: bool
    source_event_id: str


class NotificationPage(_Out):
    items: list[NotificationSummary]
    next_cursor: str | None = Field(
        description="Opaque; pass as `cursor` for the next (older) page. Null on the last page."
    )


class Preferences(BaseModel):
    """A reader's choices; `locale` renders their notifications (Indonesian unless chosen)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    locale: Locale = Field(description="`id` (Bahasa Indonesia) or `en` (English)")


class UnreadCount(_Out):
    unread: int


class ReadAllResult(_Out):
    marked_read: int = Field(description="How many notifications were unread before the call.")


class Health(_Out):
    status: Literal["ok", "unavailable"]


class Problem(_Out):
    detail: str


def _text(stored: StoredNotification, locale: Locale | None) -> tuple[Locale, str, str]:
    n = stored.notification
    if locale is None or locale == n.locale:
        return n.locale, n.title, n.body
    rendered = render(n.kind, n.data, locale)
    if isinstance(rendered, Rendered):
        return locale, rendered.title, rendered.body
    # Stored data always rendered in both locales when it was derived; an old kind may not.
    return n.locale, n.title, n.body


def _preview(body: str) -> str:
    if len(body) <= PREVIEW_CHARS:
        return body
    cut = body[:PREVIEW_CHARS].rsplit(" ", 1)[0] or body[:PREVIEW_CHARS]
    return f"{cut.rstrip(' ,.;:')}…"


def _shown(stored: StoredNotification, locale: Locale | None) -> tuple[dict[str, Any], str]:
    """What a summary and a detail both show, in the locale shown, and the body in it."""
    shown, title, body = _text(stored, locale)
    n = stored.notification
    common = {
        "notification_id": n.notification_id,
        "kind": n.kind,
        "title": title,
        "locale": shown,
        "created_at": n.created_at,
        "read": stored.read,
    }
    return common, body


def summary(stored: StoredNotification, locale: Locale | None) -> NotificationSummary:
    common, body = _shown(stored, locale)
    return NotificationSummary(**common, preview=_preview(body))


def detail(stored: StoredNotification, locale: Locale | None) -> NotificationDetail:
    common, body = _shown(stored, locale)
    n = stored.notification
    return NotificationDetail(
        **common, body=body, data=dict(n.data), source_event_id=n.source_event_id
    )
