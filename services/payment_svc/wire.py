"""Translation between the wire models (``schemas.payment``) and the pure domain's values.

Commands come in as validated pydantic models and become domain dataclasses; domain events go
out as the exact ``data`` of their wire type (``make_event`` refuses any field the contract lacks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar, get_args

from pydantic import BaseModel

from schemas import payment as wire
from services.common.runtime.seam import translate_by_name
from services.payment_svc.domain.commands import AllocationLine
from services.payment_svc.domain.events import Event, InvoiceIssued, InvoiceVoided
from services.payment_svc.domain.model import Giro
from services.payment_svc.domain.outcomes import Decision

C = TypeVar("C")


def translate_as(kind: type[C]) -> Callable[[BaseModel], C]:
    """The translation of a validated payload into the domain command ``kind``: its fields by
    name, allocation lines and giro details made domain values."""
    return translate_by_name(kind, _domain)


def _domain(name: str, value: Any) -> Any:
    if name == "allocations":
        return tuple(AllocationLine(a.invoice_no, a.amount) for a in value)
    if name == "giro" and value is not None:
        return Giro(value.number, value.bank, value.due_date)
    return value


# The explicit domain-event → wire mapping. A domain field is either on the wire under its own
# name or listed in the event's ``domain_only`` as the domain's own; a wire field is either a
# domain field or filled here from the aggregate (IDENTITY) or the decision (``released``).
# ``event_data`` refuses anything else, so a renamed field fails loudly (and
# tests/unit/payment/test_wire_mapping.py says where) instead of silently vanishing from the event.
DOMAIN_ONLY: dict[str, frozenset[str]] = {
    event.type: getattr(event, "domain_only", frozenset()) for event in get_args(Event)
}
IDENTITY = frozenset({"customer_name", "currency", "method", "payment_date", "giro"})
_CONTRACT = {type_: frozenset(model.model_fields) for type_, model in wire.EVENTS.items()}
FROM_DECISION = frozenset({"released"})


def event_data(event: Event, decision: Decision) -> dict[str, Any]:
    """``data`` of the wire event for ``event``, one of ``decision``'s events.

    The domain events carry more than the contract (previous status, every touched invoice's
    balance, the payment's bank account): the contract is what the wire model declares, so only
    its fields are kept. ``invoice.voided`` reports what each payment lost, which the domain
    keeps in the decision's allocation changes rather than on the event. Every event also says
    what a person recognises its payment or invoice by (customer name, method, giro, the date
    it was paid), taken from the aggregate's state after the decision.
    """
    contract = _CONTRACT[event.type]
    own = _fields(event)
    unmapped = set(own) - contract - DOMAIN_ONLY[event.type]
    if unmapped:
        raise TypeError(f"{event.type}: domain fields {sorted(unmapped)} are not in the contract")
    raw = {**_identity(event, decision), **own}
    if isinstance(event, InvoiceVoided):
        raw["released"] = [
            {"payment_no": c.payment_no, "amount": c.amount}
            for c in decision.allocation_changes
            if c.kind == "released" and c.invoice_no == event.invoice_no
        ]
    return {
        name: _plain(value) for name, value in raw.items() if name in contract and value is not None
    }


def _identity(event: Event, decision: Decision) -> dict[str, Any]:
    if isinstance(event, InvoiceIssued | InvoiceVoided):
        invoice = next((i for i in decision.invoices if i.invoice_no == event.invoice_no), None)
        if invoice is None:
            return {}
        return {"customer_name": invoice.customer_name, "currency": invoice.currency}
    payment = next((p for p in decision.payments if p.payment_no == event.payment_no), None)
    if payment is None:
        return {}
    return {
        "customer_name": payment.customer_name,
        "currency": payment.currency,
        "method": payment.method,
        "payment_date": payment.payment_date,
        "giro": payment.giro,
    }


_SCALARS = frozenset({str, int, bool, Decimal, date, datetime})


def _fields(value: Any) -> dict[str, Any]:
    """A dataclass's fields by name, the values as they are (no deep copy: they are immutable)."""
    return {f.name: getattr(value, f.name) for f in fields(value)}


def _plain(value: Any) -> Any:
    # The wire models hold lists and mappings (JSON has only arrays and objects).
    if type(value) in _SCALARS:
        return value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in _fields(value).items()}
    return value
