"""The expected outcome of a workload, computed by the services' own handlers and pure domain
on in-memory state, one command at a time in the order they were sent.

The handlers are the very functions the services run; only their unit of work is replaced by
dictionaries here. Nothing waits (``may_wait=False``): in send order everything a command names
was sent before it. The workload is built so that this order gives the state any consumption
order gives (see ``chaos.workload``). What the approvals of pickup_svc send to payment_svc
(``invoice.void``, ``payment.release``) is fed to payment_svc's handlers as it comes out.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from schemas import Envelope, topics
from services.common.domain import Rejected
from services.common.runtime import Accepted, MessageContext
from services.common.runtime.emitting import rejection_row
from services.payment_svc.domain.model import Invoice, Payment
from services.payment_svc.domain.outcomes import Decision
from services.payment_svc.domain.policy import ApprovalAmounts
from services.payment_svc.handlers import HANDLERS as PAYMENT_HANDLERS
from services.pickup_svc.courier import LocalCourierGateway
from services.pickup_svc.domain.model import AirwayBill, Order
from services.pickup_svc.domain.voiding import VoidOutcome
from services.pickup_svc.handlers import HANDLERS as PICKUP_HANDLERS

Key = tuple[str, str]
_COMMUTING = frozenset({"invoice.void", "payment.release"})


class MemoryPayments:
    """payment_svc's unit of work as the handlers see it, over dictionaries."""

    def __init__(self, admins: frozenset[str]) -> None:
        self.admins = admins
        self.approval_amounts = ApprovalAmounts()  # the run sets no four-eyes amount
        self.payment_rows: dict[Key, Payment] = {}
        self.invoice_rows: dict[Key, Invoice] = {}

    def payment(self, tenant_id: str, payment_no: str) -> Payment | None:
        return self.payment_rows.get((tenant_id, payment_no))

    def invoice(self, tenant_id: str, invoice_no: str) -> Invoice | None:
        return self.invoice_rows.get((tenant_id, invoice_no))

    def invoices(self, tenant_id: str, invoice_nos: Iterable[str]) -> dict[str, Invoice]:
        found = ((no, self.invoice_rows.get((tenant_id, no))) for no in invoice_nos)
        return {no: inv for no, inv in found if inv is not None}

    def holders(self, tenant_id: str, invoice_no: str) -> dict[str, Payment]:
        return {
            p.payment_no: p
            for (t, _), p in self.payment_rows.items()
            if t == tenant_id and any(a.invoice_no == invoice_no for a in p.allocations)
        }

    def stage(self, decision: Decision) -> None:
        for invoice in decision.invoices:
            self.invoice_rows[(invoice.tenant_id, invoice.invoice_no)] = invoice
        for payment in decision.payments:
            self.payment_rows[(payment.tenant_id, payment.payment_no)] = payment


class MemoryPickups:
    """pickup_svc's unit of work as the handlers see it; airway bills are numbered in order."""

    def __init__(self, admins: frozenset[str]) -> None:
        self.admins = admins
        self.orders: dict[Key, Order] = {}
        self._bills = itertools.count(1)
        self._courier = LocalCourierGateway()

    def order(self, tenant_id: str, order_id: str) -> Order | None:
        return self.orders.get((tenant_id, order_id))

    def stage(self, order: Order) -> None:
        self.orders[(order.tenant_id, order.order_id)] = order

    def airway_bill(self, msg: Envelope) -> str:
        return f"ORACLE-{next(self._bills)}"

    def void_bill(self, order: Order, bill: AirwayBill) -> VoidOutcome:
        # The run's courier is the local gateway, which voids every bill it is asked to.
        return self._courier.void_airway_bill(
            courier=bill.courier, awb=bill.awb, order_id=order.order_id, tenant_id=order.tenant_id
        )


@dataclass
class Expected:
    """What the oracle says every command does: its outcome, the events it emits."""

    outcomes: dict[str, str] = field(default_factory=dict)  # command id -> "accepted" / code
    event_ids: dict[str, set[str]] = field(default_factory=dict)  # topic -> ids
    # Events of the commands pickup_svc sends payment_svc (``invoice.void``, ``payment.release``):
    # their effects commute (the state is the same in either order) but which of the two
    # reports a released allocation depends on the order they are consumed in.
    order_dependent: set[str] = field(default_factory=set)
    derived: list[Envelope] = field(default_factory=list)  # pickup's commands to payment_svc


class Oracle:
    def __init__(self, payment_admins: frozenset[str], pickup_admins: frozenset[str]) -> None:
        self.payments = MemoryPayments(payment_admins)
        self.pickups = MemoryPickups(pickup_admins)
        self.expected = Expected()
        self._seen: set[str] = set()

    def apply(self, env: Envelope, now: datetime) -> str:
        """Decide ``env`` as its service would; its outcome ("accepted" or a rejection code)."""
        key = f"{env.tenantid}|{env.source}|{env.id}"
        if key in self._seen:  # a duplicate: the inbox skips it
            return self.expected.outcomes[env.id]
        self._seen.add(key)
        if env.type in PAYMENT_HANDLERS:
            handler: Any = PAYMENT_HANDLERS[env.type]
            uow: Any = self.payments
            service = "payment"
        else:
            handler, uow, service = PICKUP_HANDLERS[env.type], self.pickups, "pickup"
        ctx = MessageContext(env, now, f"/svc/{service}", may_wait=False)
        outcome = handler(env, uow=uow, ctx=ctx)
        result: str
        if isinstance(outcome, Rejected):
            result = outcome.code
            topic = topics.PAYMENT_EVENTS if service == "payment" else topics.PICKUP_EVENTS
            row = rejection_row(env, outcome, ctx.source, topic, now)
            self._emit(topic, row.event_id)
        else:
            assert isinstance(outcome, Accepted), outcome
            result = "accepted"
            for out in outcome.messages:
                if out.topic == topics.PAYMENT_COMMANDS:
                    self.expected.derived.append(out.envelope)
                    self.apply(out.envelope, now)
                else:
                    self._emit(out.topic, out.envelope.id)
                    if env.actor == "system:pickup" and env.type in _COMMUTING:
                        self.expected.order_dependent.add(out.envelope.id)
        self.expected.outcomes[env.id] = result
        return result

    def _emit(self, topic: str, event_id: str) -> None:
        self.expected.event_ids.setdefault(topic, set()).add(event_id)

    # --- the state to compare ---------------------------------------------------------------

    def payment_state(self) -> dict[str, Any]:
        return {
            "payments": {
                f"{t}/{no}": _payment_row(p)
                for (t, no), p in sorted(self.payments.payment_rows.items())
            },
            "invoices": {
                f"{t}/{no}": _invoice_row(i)
                for (t, no), i in sorted(self.payments.invoice_rows.items())
            },
        }

    def pickup_state(self) -> dict[str, Any]:
        return {f"{t}/{no}": _order_row(o) for (t, no), o in sorted(self.pickups.orders.items())}


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _payment_row(p: Payment) -> dict[str, Any]:
    return {
        "status": str(p.status),
        "amount": _money(p.amount),
        "allocations": {a.invoice_no: _money(a.amount) for a in p.allocations},
    }


def _invoice_row(i: Invoice) -> dict[str, Any]:
    return {"allocated": _money(i.allocated), "settled": _money(i.settled), "voided": i.voided}


def _order_row(o: Order) -> dict[str, Any]:
    return {
        "state": str(o.state),
        "bills": [str(b.status) for b in o.airway_bills],
        "requests": [r.decision or "open" for r in o.cancel_requests],
    }
