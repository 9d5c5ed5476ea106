"""What a command function returns: a ``Decision`` to persist, or a ``Rejected`` refusal value."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.domain import RejectCode, Rejected
from services.payment_svc.domain.events import Event
from services.payment_svc.domain.model import AllocationChange, Invoice, Payment, StatusChange

__all__ = ["NO_CHANGE", "Decision", "Outcome", "RejectCode", "Rejected"]


@dataclass(frozen=True)
class Decision:
    """The effect of an accepted command, for the adapter to write in one transaction.

    ``payments``/``invoices`` hold the full new state of every aggregate that changed (upsert
    them; a payment's ``allocations`` is its complete live set). ``history`` and
    ``allocation_changes`` are appended, never rewritten. An empty decision means "accepted, no
    change" (e.g. releasing an allocation that no longer exists).
    """

    payments: tuple[Payment, ...] = ()
    invoices: tuple[Invoice, ...] = ()
    events: tuple[Event, ...] = ()
    history: tuple[StatusChange, ...] = ()
    allocation_changes: tuple[AllocationChange, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.payments or self.invoices or self.events or self.history)


NO_CHANGE = Decision()

Outcome = Decision | Rejected
