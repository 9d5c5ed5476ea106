"""Source events of the seed scenarios through the handling core, checked against the contract,
and the committed example notifications checked against what the core publishes, byte for byte."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import schemas
from examples.notifications import EXAMPLE_PICKUP_ADMINS, EXAMPLE_PICKUP_SUPERVISORS
from schemas.examples import EXAMPLES_DIR, example_paths, scenarios
from schemas.notification import NotificationCreated
from services.notify_svc.handling import Handled, Ports, handle_source_event, notification_event
from services.notify_svc.memory import MemoryFeed, MemoryJoins, MemoryLocales, memory_ports
from services.notify_svc.model import Notification, SourceEvent
from services.notify_svc.rules import SOURCE_TYPES, Malformed, Routing

AT = datetime(2024, 1, 2, 3, 4, tzinfo=UTC)


def _source_envelopes() -> list[schemas.Envelope]:
    envelopes = [schemas.decode(p.read_bytes()) for p in sorted(EXAMPLES_DIR.glob("*/*.json"))]
    return [env for env in envelopes if env.type in SOURCE_TYPES]


class Failing:
    async def add(self, notification: Notification) -> bool:
        raise ConnectionError("redis down")


def _run(event: SourceEvent, ports: Ports, published: list[Notification]) -> Handled | Malformed:
    async def publish(n: Notification) -> None:
        published.append(n)

    return asyncio.run(handle_source_event(event, ports=ports, publish=publish))


def _as_example_file(message: schemas.Envelope) -> bytes:
    """The bytes `schemas/examples/build.py` writes for a message."""
    body = message.model_dump(mode="json", exclude_none=True)
    return (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode()


def test_the_seed_scenarios_contain_every_source_type_we_handle() -> None:
    assert {env.type for env in _source_envelopes()} >= {
        "pickup.cancel.pending",
        "pickup.cancel.decided",
        "pickup.arranged",
        "pickup.cancel.reminder",
        "pickup.cancel.escalated",
        "pickup.void.failed",
        "payment.cancelled",
        "payment.resolved",
        "invoice.voided",
        "payment.released",
        "command.rejected",
    }


@pytest.mark.parametrize("scenario", scenarios())
def test_committed_example_notifications_are_what_notify_publishes_byte_for_byte(
    scenario: str,
) -> None:
    """Replay the scenario's facts through the core, in order, as notify_svc would read them."""
    files = [p for p in example_paths(scenario)]
    committed = [p.read_bytes() for p in files if p.name.endswith("_notification.created.json")]
    routing = Routing(
        pickup_admins=EXAMPLE_PICKUP_ADMINS, pickup_supervisors=EXAMPLE_PICKUP_SUPERVISORS
    )
    ports, published = memory_ports(routing), []
    for path in files:
        envelope = schemas.decode(path.read_bytes())
        if envelope.type == "notification.created":
            continue
        made: list[Notification] = []
        assert isinstance(_run(SourceEvent.from_envelope(envelope), ports, made), Handled)
        published += [_as_example_file(notification_event(n, cause=envelope)) for n in made]
    assert published == committed


@pytest.mark.parametrize("envelope", _source_envelopes(), ids=lambda e: f"{e.type}:{e.id[:8]}")
def test_every_seed_event_yields_valid_notification_messages(envelope: schemas.Envelope) -> None:
    published: list[Notification] = []
    outcome = _run(SourceEvent.from_envelope(envelope), memory_ports(), published)
    assert isinstance(outcome, Handled), outcome
    assert published == list(outcome.notifications) and outcome.newly_stored == len(published)
    for notification in published:
        message = notification_event(notification, cause=envelope)
        assert isinstance(message.data, NotificationCreated)
        assert message.causationid == envelope.id and message.tenantid == envelope.tenantid
        # Round trip through the codec, as the feed rebuild from `notifications` will do.
        again = schemas.decode(schemas.encode(message))
        assert Notification.from_wire(again.data_dict()) == notification


def test_a_redelivered_event_stores_nothing_new_but_publishes_again() -> None:
    envelope = next(e for e in _source_envelopes() if e.type == "pickup.cancel.decided")
    ports, published = memory_ports(), list[Notification]()
    first = _run(SourceEvent.from_envelope(envelope), ports, published)
    second = _run(SourceEvent.from_envelope(envelope), ports, published)
    assert isinstance(first, Handled) and isinstance(second, Handled)
    assert first.newly_stored == len(first.notifications) and second.newly_stored == 0
    assert isinstance(ports.feed, MemoryFeed) and len(ports.feed.items) == len(first.notifications)
    assert published == [*first.notifications, *second.notifications]


def test_redis_failure_escapes_so_the_agent_retries_and_nothing_is_published() -> None:
    envelope = next(e for e in _source_envelopes() if e.type == "payment.resolved")
    published: list[Notification] = []
    ports = Ports(Failing(), MemoryJoins(), MemoryLocales())
    with pytest.raises(ConnectionError):
        _run(SourceEvent.from_envelope(envelope), ports, published)
    assert published == []


def test_malformed_data_is_returned_for_the_dlq_and_nothing_is_written() -> None:
    event = SourceEvent("pickup.arranged", "dist-1", "e-1", AT, {"order_id": "SO-1"})
    ports, published = memory_ports(), list[Notification]()
    assert isinstance(_run(event, ports, published), Malformed)
    assert isinstance(ports.feed, MemoryFeed) and ports.feed.items == {} and published == []


def test_a_long_rejection_message_still_fits_the_notification_contract() -> None:
    data = {"command_id": "c-1", "command_type": "payment.cancel", "code": "invalid"}
    data["message"] = "x" * 2000
    event = SourceEvent("command.rejected", "dist-1", "e-2", AT, data, "user:u1")
    published: list[Notification] = []
    outcome = _run(event, memory_ports(), published)
    assert isinstance(outcome, Handled)
    for notification in published:
        assert isinstance(notification_event(notification).data, NotificationCreated)
        assert notification.data["message"] == "x" * 2000


def test_a_chosen_locale_renders_that_readers_notification_only() -> None:
    data = {"order_id": "SO-1", "reason": "alamat", "requested_by": "user:seller-1"}
    event = SourceEvent("pickup.cancel.pending", "dist-1", "e-3", AT, data, "user:seller-1")
    locales = MemoryLocales({("dist-1", "user:seller-1"): "en"})
    published: list[Notification] = []
    _run(event, Ports(MemoryFeed(), MemoryJoins(), locales), published)
    by_recipient = {n.recipient: n for n in published}
    assert by_recipient["user:seller-1"].locale == "en"
    assert by_recipient["user:seller-1"].title == "Pickup cancellation awaiting approval"
    assert by_recipient["tenant:dist-1"].locale == "id"
    # Another tenant's reader of the same name chose nothing: Indonesian there.
    other = SourceEvent("pickup.cancel.pending", "dist-2", "e-3", AT, data, "user:seller-1")
    published.clear()
    _run(other, Ports(MemoryFeed(), MemoryJoins(), locales), published)
    assert {n.locale for n in published} == {"id"}


def test_example_files_exist_for_the_notification_kinds_a_seller_sees() -> None:
    kinds = {
        json.loads(p.read_text())["data"]["kind"]
        for p in Path(EXAMPLES_DIR).glob("*/*_notification.created.json")
    }
    assert kinds >= {
        "pickup_cancel_requested",
        "pickup_cancel_approved",
        "pickup_cancel_rejected",
        "pickup_arranged",
        "pickup_cancel_reminder",
        "pickup_cancel_escalated",
        "pickup_void_failed",
        "invoice_voided",
        "payment_released",
        "payment_resolved",
        "payment_cancelled",
        "command_rejected",
    }
