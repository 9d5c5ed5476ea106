"""The example messages of the seed scenarios, as the contract alone can say them.

The committed JSON files under `schemas/examples/<scenario>/` are made from these by
`python -m examples.write`, which adds the notifications notify_svc makes of each fact (the
contract depends on no service, so that step lives outside `schemas/`); a unit test regenerates
them and fails if they are stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from schemas.emitting import make_event
from schemas.envelope import Envelope
from schemas.ids import derive_id
from schemas.registry import aggregate_field

WIB = timezone(timedelta(hours=7))
DISTRIBUTOR = "dist-simplidots-01"
SELLER = "seller-clodeo-77"


class _Script:
    """Numbers the messages of one scenario and links each to what caused it; a message's
    subject is its data's aggregate field unless given (a rejection, a waiting notice)."""

    def __init__(self, tenant: str, start: datetime) -> None:
        self.tenant = tenant
        self.clock = start
        self.messages: list[Envelope] = []

    def add(
        self,
        type_: str,
        data: Mapping[str, Any],
        *,
        source: str,
        subject: str | None = None,
        id_: str | None = None,
        actor: str | None = None,
        cause: Envelope | None = None,
        minutes: int = 1,
        traceparent: str | None = None,
    ) -> Envelope:
        self.clock += timedelta(minutes=minutes)
        if subject is None:  # the contract's aggregate field of the data (docs/ARCHITECTURE.md)
            subject = str(data[aggregate_field(type_) or ""])
        message_id = id_ or derive_id(cause.id if cause else "example", type_)
        env = make_event(
            type_,
            data,
            id=message_id,
            source=source,
            time=self.clock,
            tenantid=self.tenant,
            subject=subject,
            cause=cause,
            actor=actor,
        )
        if traceparent is not None:  # the sender traces its command (W3C trace context)
            env = env.model_copy(update={"traceparent": traceparent})
        self.messages.append(env)
        return env


def giro_resolve() -> list[Envelope]:
    """Seed 001: 1188 MINI MARKET pays 30,878,568.81 by giro on 21 Aug; it clears on 22 Aug."""
    s = _Script(DISTRIBUTOR, datetime(2023, 8, 1, 9, 0, tzinfo=WIB))
    invoice = {
        "invoice_no": "INV-230800511",
        "customer_id": "CUST-1188",
        "customer_name": "1188 MINI MARKET",
        "amount": "30878568.81",
        "issue_date": "2023-08-01",
        "due_date": "2023-08-31",
    }
    issue = s.add(
        "invoice.issue",
        invoice,
        source="/billing",
        id_="billing-INV-230800511",
        actor="system:billing",
    )
    s.add(
        "invoice.issued",
        {**invoice, "outstanding": "30878568.81", "status": "unpaid"},
        source="/svc/payment",
        cause=issue,
    )
    s.clock = datetime(2023, 8, 21, 10, 0, tzinfo=WIB)
    giro = {"number": "BG-0045521", "bank": "BRI", "due_date": "2023-08-21"}
    allocation = {"invoice_no": "INV-230800511", "amount": "30878568.81"}
    record = s.add(
        "payment.record",
        {
            "payment_no": "PR-230800811",
            "customer_id": "CUST-1188",
            "customer_name": "1188 MINI MARKET",
            "method": "giro",
            "amount": "30878568.81",
            "payment_date": "2023-08-21",
            "giro": giro,
            "bank_account": "BRI 0331-01-000123-30-1",
            "allocations": [allocation],
        },
        source="/backoffice",
        id_="bo-7f3c2a10-record-PR-230800811",
        actor="admin:ani",
    )
    payment = {
        "payment_no": "PR-230800811",
        "customer_id": "CUST-1188",
        "customer_name": "1188 MINI MARKET",
        "amount": "30878568.81",
        "allocated": "30878568.81",
        "usage": "used",
        "method": "giro",
        "payment_date": "2023-08-21",
        "giro": giro,
    }
    s.add(
        "payment.recorded",
        {
            **payment,
            "status": "active",
            "method": "giro",
            "channel": "web",
            "payment_date": "2023-08-21",
            "giro": giro,
            "allocations": [allocation],
        },
        source="/svc/payment",
        cause=record,
    )
    s.clock = datetime(2023, 8, 22, 14, 30, tzinfo=WIB)
    resolve = s.add(
        "payment.resolve",
        {"payment_no": "PR-230800811", "resolved_date": "2023-08-22"},
        source="/backoffice",
        id_="bo-7f3c2a11-resolve-PR-230800811",
        actor="admin:ani",
    )
    s.add(
        "payment.resolved",
        {**payment, "status": "completed", "resolved_date": "2023-08-22"},
        source="/svc/payment",
        cause=resolve,
    )
    return s.messages


def payment_cancel() -> list[Envelope]:
    """Seed 000: completed payment CP-250100041 is cancelled; its invoice is open again."""
    s = _Script(DISTRIBUTOR, datetime(2025, 1, 14, 8, 0, tzinfo=WIB))
    s.add(
        "invoice.issue",
        {
            "invoice_no": "INV-250100017",
            "customer_id": "CUST-2040",
            "amount": "1500000.00",
            "issue_date": "2025-01-02",
            "due_date": "2025-01-31",
        },
        source="/billing",
        id_="billing-issue-INV-250100017",
        actor="system:billing",
    )
    record = s.add(
        "payment.record",
        {
            "payment_no": "CP-250100041",
            "customer_id": "CUST-2040",
            "method": "transfer",
            "amount": "1250000.00",
            "payment_date": "2025-01-14",
            "allocations": [{"invoice_no": "INV-250100017", "amount": "1250000.00"}],
        },
        source="/backoffice",
        id_="bo-record-CP-250100041",
        actor="admin:budi",
    )
    payment = {
        "payment_no": "CP-250100041",
        "customer_id": "CUST-2040",
        "amount": "1250000",
        "method": "transfer",
        "payment_date": "2025-01-14",
    }
    s.add(
        "payment.recorded",
        {
            **payment,
            "status": "completed",
            "allocated": "1250000",
            "usage": "used",
            "method": "transfer",
            "channel": "web",
            "payment_date": "2025-01-14",
            "allocations": [{"invoice_no": "INV-250100017", "amount": "1250000"}],
        },
        source="/svc/payment",
        cause=record,
    )
    cancel = s.add(
        "payment.cancel",
        {
            "payment_no": "CP-250100041",
            "reason_code": "input_error",
            "reason": "  Nominal transfer salah input, akan dicatat ulang.  ",
        },
        source="/backoffice",
        id_="bo-cancel-CP-250100041",
        actor="admin:budi",
        minutes=90,
    )
    s.add(
        "payment.cancelled",
        {
            **payment,
            "status": "cancelled",
            "allocated": "0",
            "usage": "unused",
            "reason_code": "input_error",
            "reason": "Nominal transfer salah input, akan dicatat ulang.",
            "released": [{"invoice_no": "INV-250100017", "amount": "1250000"}],
        },
        source="/svc/payment",
        cause=cancel,
    )
    again = s.add(
        "payment.resolve",
        {"payment_no": "CP-250100041", "resolved_date": "2025-01-15"},
        source="/backoffice",
        id_="bo-resolve-CP-250100041",
        actor="admin:budi",
    )
    s.add(
        "command.rejected",
        {
            "command_id": again.id,
            "command_type": again.type,
            "code": "invalid_state",
            "message": "payment CP-250100041 is cancelled; only an active payment can be resolved",
        },
        subject="CP-250100041",
        source="/svc/payment",
        cause=again,
    )
    return s.messages


def sfa_pending() -> list[Envelope]:
    """Seed 001 statuses: a collector enters a cash payment in the SFA app; an admin confirms."""
    s = _Script(DISTRIBUTOR, datetime(2023, 9, 4, 11, 0, tzinfo=WIB))
    record = s.add(
        "payment.record",
        {
            "payment_no": "PR-230900107",
            "customer_id": "CUST-1188",
            "method": "cash",
            "amount": 500000,
            "payment_date": "2023-09-04",
            "channel": "sfa",
            "collector_id": "collector-17",
        },
        source="/sfa/collector-17",
        id_="sfa-collector-17-000981",
        actor="user:collector-17",
    )
    payment = {
        "payment_no": "PR-230900107",
        "customer_id": "CUST-1188",
        "amount": "500000",
        "allocated": "0",
        "usage": "unused",
        "method": "cash",
        "payment_date": "2023-09-04",
    }
    s.add(
        "payment.recorded",
        {
            **payment,
            "status": "pending",
            "method": "cash",
            "channel": "sfa",
            "payment_date": "2023-09-04",
        },
        source="/svc/payment",
        cause=record,
    )
    confirm = s.add(
        "payment.confirm",
        {"payment_no": "PR-230900107"},
        source="/backoffice",
        id_="bo-confirm-PR-230900107",
        actor="admin:ani",
        minutes=240,
    )
    s.add(
        "payment.confirmed",
        {**payment, "status": "completed"},
        source="/svc/payment",
        cause=confirm,
    )
    return s.messages
