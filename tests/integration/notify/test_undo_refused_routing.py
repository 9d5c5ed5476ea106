"""payment_svc refusing the invoice void of an approved cancellation, through the topics and the
feed API of running processes: the seller who asked reads the refusal and its reason, whichever
topic notify_svc reads first."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.notify.harness import SELLER, Stack, example, produce
from tests.integration.notify.test_notify_routing import arrived

pytestmark = pytest.mark.integration

SCENARIO = "pickup_cancel_approve"
REASON = "invoice INV-ORD-2024-000871 has a payment allocated that is not pickup_svc's to release"


def refusal_of(command: dict[str, Any]) -> dict[str, Any]:
    """The `command.rejected` payment_svc emits for `command` (emitting.rejection_row)."""
    return {
        **{k: command[k] for k in ("specversion", "subject", "tenantid", "actor", "correlationid")},
        "id": f"rej-{command['id']}",
        "type": "command.rejected",
        "source": "/svc/payment",
        "time": "2024-05-06T10:22:05+07:00",
        "causationid": command["id"],
        "datacontenttype": "application/json",
        "data": {
            "command_id": command["id"],
            "command_type": command["type"],
            "code": "invalid_state",
            "message": REASON,
        },
    }


@pytest.mark.parametrize("refusal_first", [False, True], ids=["approval-first", "refusal-first"])
def test_the_seller_reads_that_the_invoice_could_not_be_voided_and_why(
    stack: Stack, refusal_first: bool
) -> None:
    tenant = f"undo-{uuid.uuid4().hex[:10]}"
    decided = example(SCENARIO, "pickup.cancel.decided", tenant=tenant, run="d")
    void = example(SCENARIO, "invoice.void", tenant=tenant, run="v")
    assert void["actor"] == "system:pickup"
    assert void["correlationid"] == decided["correlationid"]
    refusal = refusal_of(void)
    office = f"tenant:{tenant}"
    if refusal_first:  # seen and kept before notify_svc knows whose order it is
        produce(stack.bootstrap, "payment.events", [refusal])
        arrived(stack, tenant, office, "billing_undo_rejected")
        produce(stack.bootstrap, "pickup.cancel.decided", [decided])
    else:
        produce(stack.bootstrap, "pickup.cancel.decided", [decided])
        arrived(stack, tenant, SELLER, "pickup_cancel_approved")
        produce(stack.bootstrap, "payment.events", [refusal])

    (told,) = arrived(stack, tenant, SELLER, "billing_undo_rejected")
    order, invoice = decided["data"]["order_id"], void["data"]["invoice_no"]
    assert told["title"] == "Invoice belum dapat dibatalkan"
    assert f"Invoice {invoice} untuk order {order} tidak dapat dibatalkan" in told["body"]
    assert REASON in told["body"] and "Back office telah diberi tahu." in told["body"]
    english = stack.api.detail(tenant, SELLER, told["notification_id"], "?locale=en")
    assert f"Invoice {invoice} of order {order} could not be voided" in english["body"]
    # The payment admins, who can fix it, and the back office heard of it too.
    (admin,) = arrived(stack, tenant, "admin:siti", "billing_undo_rejected")
    assert REASON in admin["body"] and invoice in admin["body"]
    assert arrived(stack, tenant, office, "billing_undo_rejected")
    kinds = sorted(r["kind"] for r in stack.api.feed(tenant, SELLER))
    assert kinds == ["billing_undo_rejected", "pickup_cancel_approved"]
