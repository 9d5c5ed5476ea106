"""Who may do what to payments (docs/ARCHITECTURE.md "Who may send it"): each rule, allowed
and forbidden."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.common.domain import Meta
from services.payment_svc.domain.model import Payment
from services.payment_svc.handlers import authorize

ADMINS = frozenset({"ani", "budi"})
AT = datetime(2023, 8, 21, 10, 0, tzinfo=UTC)


def meta(actor: str) -> Meta:
    return Meta("dist-1", actor, "cmd-1", AT)


def collected_by(actor: str) -> Payment:
    return Payment(
        tenant_id="dist-1",
        payment_no="PR-1",
        customer_id="CUST-1188",
        method="cash",
        channel="sfa",
        amount=Decimal("500000.00"),
        payment_date=date(2023, 9, 4),
        status="pending",
        recorded_by="sfa-1",
        recorded_actor=actor,
    )


@pytest.mark.parametrize("command", ["invoice.issue", "payment.record", "payment.allocate"])
@pytest.mark.parametrize("actor", ["user:seller-1", "admin:stranger", "system:billing"])
def test_anyone_may_issue_record_and_allocate(command: str, actor: str) -> None:
    assert authorize(command, meta(actor), ADMINS) is None


@pytest.mark.parametrize(
    "command",
    [
        "payment.confirm",
        "payment.resolve",
        "payment.cancel",
        "payment.cancel.approve",
        "payment.cancel.reject",
        "payment.bounce",
    ],
)
def test_confirm_resolve_cancel_and_bounce_are_for_payment_admins(command: str) -> None:
    assert authorize(command, meta("admin:ani"), ADMINS) is None
    for actor in ("user:anyone", "admin:stranger", "system:pickup", "user:ani"):
        refused = authorize(command, meta(actor), ADMINS)
        assert refused is not None and refused.code == "forbidden", actor
        assert "only a payment admin" in refused.message


def test_no_admin_may_confirm_a_payment_they_recorded() -> None:
    own = authorize("payment.confirm", meta("admin:ani"), ADMINS, payment=collected_by("admin:ani"))
    assert own is not None and own.code == "forbidden" and "four eyes" in own.message
    other = collected_by("admin:ani")
    assert authorize("payment.confirm", meta("admin:budi"), ADMINS, payment=other) is None
    collector = collected_by("user:collector-17")
    refused = authorize("payment.confirm", meta("user:collector-17"), ADMINS, payment=collector)
    assert refused is not None and refused.code == "forbidden"


@pytest.mark.parametrize("command", ["invoice.void", "payment.release"])
def test_void_and_release_are_for_pickup_with_an_order_or_an_admin(command: str) -> None:
    assert authorize(command, meta("system:pickup"), ADMINS, order_id="ORD-1") is None
    assert authorize(command, meta("admin:budi"), ADMINS) is None
    for actor, order in [("system:pickup", None), ("user:seller-1", "ORD-1"), ("system:x", "O")]:
        refused = authorize(command, meta(actor), ADMINS, order_id=order)
        assert refused is not None and refused.code == "forbidden", (actor, order)


def test_an_empty_admin_set_lets_no_admin_through() -> None:
    refused = authorize("payment.cancel", meta("admin:ani"), frozenset())
    assert refused is not None and refused.code == "forbidden"
