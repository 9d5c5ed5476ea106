"""The expected outcome of a workload, computed by the services' own handlers and pure domain
on in-memory state, one command at a time in the order they were sent.

The dispatch is the very one the services run (``handlers.TABLE``: who may send it, waiting,
the decision, the events); only the unit of work is replaced by dictionaries here
(``adapters/memory.py``). Nothing waits (``may_wait=False``): in send order everything a
command names was sent before it. The workload is built so that this order gives the state
any consumption order gives (see ``chaos.workload``). What the approvals of pickup_svc send to
payment_svc (``invoice.void``, ``payment.release``) is fed to payment_svc's table as it comes out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from schemas import Envelope, topics
from services.common.domain import Rejected
from services.common.runtime import Accepted, MessageContext
from services.common.runtime.emitting import rejection_row
from services.payment_svc.adapters.memory import MemoryLedger
from services.payment_svc.domain.model import Invoice, Payment
from services.payment_svc.handlers import TABLE as PAYMENTS
from services.pickup_svc.adapters.memory import MemoryOrders
from services.pickup_svc.domain.model import Order
from services.pickup_svc.handlers import TABLE as PICKUPS

Key = tuple[str, str]
_COMMUTING = frozenset({"invoice.void", "payment.release"})


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
        self.payments = MemoryLedger(payment_admins)  # the run sets no four-eyes amount
        self.pickups = MemoryOrders(pickup_admins, bill_prefix="ORACLE")
        self.expected = Expected()
        self._seen: set[str] = set()

    def apply(self, env: Envelope, now: datetime) -> str:
        """Decide ``env`` as its service would; its outcome ("accepted" or a rejection code)."""
        key = f"{env.tenantid}|{env.source}|{env.id}"
        if key in self._seen:  # a duplicate: the inbox skips it
            return self.expected.outcomes[env.id]
        self._seen.add(key)
        if env.type in PAYMENTS.specs:
            table: Any = PAYMENTS
            uow: Any = self.payments
            service = "payment"
        else:
            table, uow, service = PICKUPS, self.pickups, "pickup"
        ctx = MessageContext(env, now, f"/svc/{service}", may_wait=False)
        outcome = table.handle(env, uow=uow, ctx=ctx)
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
