"""What a command function returns: a ``Decision`` to persist, or a ``Rejected`` refusal value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.common.domain import RejectCode, Rejected
from services.payment_svc.domain.commands import AllocationLine
from services.payment_svc.domain.events import Event
from services.payment_svc.domain.model import AllocationChange, Invoice, Payment, StatusChange

__all__ = ["NO_CHANGE", "Decision", "Moved", "Outcome", "RejectCode", "Rejected"]


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


def changed_invoices(
    before: Mapping[str, Invoice], after: Mapping[str, Invoice]
) -> tuple[Invoice, ...]:
    """The invoices of ``after`` that differ from ``before``, in invoice number order."""
    return tuple(after[k] for k in sorted(after) if before.get(k) != after[k])


@dataclass(frozen=True)
class Moved:
    """A payment's new state and what moving it did: the invoices it touched (as they were and
    are), the history entries, and (allocate, release, cancel, bounce) the allocations it moved.
    Every accepted payment decision is one of these and its event (``decision``)."""

    payment: Payment
    history: tuple[StatusChange, ...]
    before: Mapping[str, Invoice] = field(default_factory=dict)
    after: Mapping[str, Invoice] = field(default_factory=dict)
    released: tuple[AllocationLine, ...] = ()
    changes: tuple[AllocationChange, ...] = ()

    def decision(self, event: Event) -> Decision:
        return Decision(
            payments=(self.payment,),
            invoices=changed_invoices(self.before, self.after),
            events=(event,),
            history=self.history,
            allocation_changes=self.changes,
        )


Outcome = Decision | Rejected
