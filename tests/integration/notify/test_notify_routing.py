"""Who sees what, through the topics and the feed API of running processes
(docs/ARCHITECTURE.md "notify_svc: who gets it").

The events are the seed examples as pickup_svc and payment_svc emit them (with the causing
command's `actor`), moved to a tenant of each test's own.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.notify.harness import (
    PICKUP_ADMIN,
    SELLER,
    Stack,
    eventually,
    example,
    produce,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def tenant() -> str:
    return f"route-{uuid.uuid4().hex[:10]}"


def arrived(stack: Stack, tenant: str, user: str, kind: str, count: int = 1) -> list[Any]:
    """The full notifications of `kind` in `user`'s feed, once `count` of them are there."""

    def rows() -> list[Any]:
        found = [r for r in stack.api.feed(tenant, user) if r["kind"] == kind]
        return found if len(found) >= count else []

    found = eventually(rows, what=f"{count} {kind} in the feed of {user}")
    return [stack.api.detail(tenant, user, row["notification_id"]) for row in found]


def test_a_refused_command_appears_in_the_senders_feed_with_the_reason(
    stack: Stack, tenant: str
) -> None:
    rejected = example("payment_cancel", "command.rejected", tenant=tenant, run="r")
    rejected["actor"] = "user:seller-1"
    produce(stack.bootstrap, "payment.events", [rejected])
    (mine,) = arrived(stack, tenant, "user:seller-1", "command_rejected")
    assert mine["title"] == "Perintah ditolak"
    assert rejected["data"]["message"] in mine["body"]
    assert mine["data"]["command_id"] == rejected["data"]["command_id"]
    assert arrived(stack, tenant, f"tenant:{tenant}", "command_rejected")
    assert stack.api.feed(tenant, "user:seller-2") == []


def test_a_rearranged_pickup_gives_the_seller_a_new_airway_bill(stack: Stack, tenant: str) -> None:
    again = example("pickup_cancel_approve", "pickup.arranged", tenant=tenant, run="n", nth=1)
    assert again["data"]["previous_awb"] and again["actor"] == SELLER
    produce(stack.bootstrap, "pickup.events", [again])
    (bill,) = arrived(stack, tenant, SELLER, "pickup_arranged")
    assert bill["title"] == "Resi baru diterbitkan"
    assert again["data"]["awb"] in bill["body"] and again["data"]["previous_awb"] in bill["body"]


def test_a_cancellation_waiting_for_a_decision_reaches_the_pickup_admin(
    stack: Stack, tenant: str
) -> None:
    pending = example("pickup_cancel_approve", "pickup.cancel.pending", tenant=tenant, run="p")
    produce(stack.bootstrap, "pickup.events", [pending])
    (admin,) = arrived(stack, tenant, f"admin:{PICKUP_ADMIN}", "pickup_cancel_requested")
    assert pending["data"]["order_id"] in admin["body"]
    assert arrived(stack, tenant, SELLER, "pickup_cancel_requested")
    assert stack.api.feed(tenant, "admin:someone-else") == []


def test_an_approval_of_an_order_without_invoice_says_there_was_nothing_to_void(
    stack: Stack, tenant: str
) -> None:
    decided = example("pickup_cancel_approve", "pickup.cancel.decided", tenant=tenant, run="0")
    decided["data"]["billing"] = {"payment_nos": []}
    produce(stack.bootstrap, "pickup.cancel.decided", [decided])
    (approval,) = arrived(stack, tenant, SELLER, "pickup_cancel_approved")
    assert "tidak memiliki invoice maupun pembayaran" in approval["body"]
    assert "Belum digunakan" not in approval["body"]
    english = stack.api.detail(tenant, SELLER, approval["notification_id"], "?locale=en")
    assert "so there is nothing to void" in english["body"]


def test_the_seller_hears_of_the_void_and_release_only_once_payment_svc_did_them(
    stack: Stack, tenant: str
) -> None:
    scenario = "pickup_cancel_approve"
    decided = example(scenario, "pickup.cancel.decided", tenant=tenant, run="a")
    produce(stack.bootstrap, "pickup.cancel.decided", [decided])
    (approval,) = arrived(stack, tenant, SELLER, "pickup_cancel_approved")
    assert "Sistem pembayaran diminta membatalkan invoice" in approval["body"]
    assert "Belum digunakan" not in approval["body"]
    assert [r["kind"] for r in stack.api.feed(tenant, SELLER)] == ["pickup_cancel_approved"]

    voided = example(scenario, "invoice.voided", tenant=tenant, run="a")
    released = example(scenario, "payment.released", tenant=tenant, run="a")
    produce(stack.bootstrap, "payment.events", [voided, released])
    (invoice,) = arrived(stack, tenant, SELLER, "invoice_voided")
    (payment,) = arrived(stack, tenant, SELLER, "payment_released")
    assert invoice["data"]["order_id"] == decided["data"]["order_id"]
    assert f"Invoice {voided['data']['invoice_no']}" in invoice["body"]
    assert payment["title"] == 'Pembayaran kembali "Belum digunakan"'
    assert decided["data"]["order_id"] in payment["body"]
    # The back office hears of both whoever asked.
    assert arrived(stack, tenant, f"tenant:{tenant}", "invoice_voided")


def test_the_giro_resolve_names_the_customer_method_and_both_dates(
    stack: Stack, tenant: str
) -> None:
    resolved = example("giro_resolve", "payment.resolved", tenant=tenant, run="g")
    produce(stack.bootstrap, "payment.events", [resolved])
    for reader in ("admin:ani", f"tenant:{tenant}"):
        (note,) = arrived(stack, tenant, reader, "payment_resolved")
        for named in ("1188 MINI MARKET", "Giro BRI", "Rp30.878.568,81"):
            assert named in note["body"], (reader, named)
        assert "Tanggal bayar: 21 Agustus 2023; tanggal cair: 22 Agustus 2023" in note["body"]
        assert (note["data"]["payment_date"], note["data"]["resolved_date"]) == (
            "2023-08-21",
            "2023-08-22",
        )
    english = stack.api.detail(tenant, f"tenant:{tenant}", note["notification_id"], "?locale=en")
    assert "Paid on 21 August 2023; cleared on 22 August 2023" in english["body"]


def test_a_chosen_locale_is_what_notify_renders_for_that_reader(stack: Stack, tenant: str) -> None:
    status, chosen = stack.api.call("PUT", "/v1/preferences", tenant, SELLER, body={"locale": "en"})
    assert (status, chosen) == (200, {"locale": "en"})
    rejected = example("pickup_cancel_reject", "pickup.cancel.decided", tenant=tenant, run="l")
    produce(stack.bootstrap, "pickup.cancel.decided", [rejected])
    (mine,) = arrived(stack, tenant, SELLER, "pickup_cancel_rejected")
    assert (mine["locale"], mine["title"]) == ("en", "Pickup cancellation rejected")
    (office,) = arrived(stack, tenant, f"tenant:{tenant}", "pickup_cancel_rejected")
    assert office["locale"] == "id"
    asked = stack.api.detail(tenant, SELLER, mine["notification_id"], "?locale=id")
    assert asked["title"] == "Pembatalan pickup ditolak"


def test_a_reminder_asks_the_pickup_admin_and_a_failed_void_tells_the_seller_and_the_admin(
    stack: Stack, tenant: str
) -> None:
    reminder = example("pickup_cancel_escalate", "pickup.cancel.reminder", tenant=tenant, run="m")
    failed = example("pickup_cancel_auto_void", "pickup.void.failed", tenant=tenant, run="v")
    assert reminder["actor"] == failed["actor"] == "system:pickup-sla"
    produce(stack.bootstrap, "pickup.events", [reminder, failed])
    admin = f"admin:{PICKUP_ADMIN}"

    (asked,) = arrived(stack, tenant, admin, "pickup_cancel_reminder")
    assert asked["title"] == "Pembatalan pickup menunggu keputusan Anda"
    assert reminder["data"]["order_id"] in asked["body"]
    assert "sejak 6 Mei 2024 pukul 09.35 WIB. Putuskan sebelum 7 Mei 2024" in asked["body"]
    english = stack.api.detail(tenant, admin, asked["notification_id"], "?locale=en")
    assert "waiting for your decision since 6 May 2024, 09:35 WIB" in english["body"]
    assert arrived(stack, tenant, f"tenant:{tenant}", "pickup_cancel_reminder")

    for reader in (SELLER, admin):
        (told,) = arrived(stack, tenant, reader, "pickup_void_failed")
        assert told["title"] == "Resi belum dapat dibatalkan", reader
        assert failed["data"]["answer"] in told["body"] and failed["data"]["awb"] in told["body"]
        assert "menunggu hingga admin mencoba pembatalan lagi" in told["body"]
    # The reminder was handled (the admin and the tenant feed have it) and asked only the admins.
    assert [r["kind"] for r in stack.api.feed(tenant, SELLER)] == ["pickup_void_failed"]
