"""Four eyes, bounced Giros and the daily Giro reminder through the topics and the feed API of
running processes: who sees which notification."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.notify.harness import Stack, example, produce
from tests.integration.notify.test_notify_routing import arrived

pytestmark = pytest.mark.integration


def test_payment_admins_hear_of_cancellations_waiting_bounces_and_overdue_giros(
    stack: Stack,
) -> None:
    tenant = f"review-{uuid.uuid4().hex[:10]}"
    waiting = example("payment_cancel_approval", "payment.cancel.requested", tenant=tenant, run="w")
    waiting["data"]["requested_by"] = "admin:budi"  # `example` makes every requester the seller
    overdue = example("giro_bounce", "payment.giro.overdue", tenant=tenant, run="o")
    bounced = example("giro_bounce", "payment.bounced", tenant=tenant, run="b")
    produce(stack.bootstrap, "payment.events", [waiting, overdue, bounced])

    (decider,) = arrived(stack, tenant, "admin:siti", "payment_cancel_requested")
    assert decider["title"] == "Pembatalan pembayaran menunggu persetujuan"
    assert "admin:budi meminta pembatalan" in decider["body"]
    assert arrived(stack, tenant, "admin:budi", "payment_cancel_requested")
    (office,) = arrived(stack, tenant, f"tenant:{tenant}", "giro_overdue")
    assert office["title"] == "Giro BG-0045530 belum cair"
    (mine,) = arrived(stack, tenant, "admin:ani", "payment_bounced")
    assert mine["title"] == "Giro BG-0045530 ditolak bank"
    assert "Rp25.000,00" in mine["body"]
    assert [r["kind"] for r in stack.api.feed(tenant, "admin:siti")] == ["payment_cancel_requested"]
