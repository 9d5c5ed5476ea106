"""payment_svc's dispatch on an in-memory ledger: ``Store.handle`` runs a domain command through
``handlers.TABLE`` (who may send it, then its decision), as production does after decoding."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.common.domain import Meta
from services.payment_svc.adapters.memory import MemoryLedger
from services.payment_svc.domain.commands import Command
from services.payment_svc.domain.events import Event
from services.payment_svc.domain.model import AllocationChange, Invoice, Payment, StatusChange
from services.payment_svc.domain.outcomes import Decision, Outcome, Rejected
from services.payment_svc.domain.policy import ApprovalAmounts
from services.payment_svc.handlers import TABLE

T0 = datetime(2023, 8, 21, 9, 0, tzinfo=UTC)
# The admins the tests' actors name (``admin:ops-1`` by default).
ADMINS = frozenset({"ops-1", "siti", "ani", "budi"})


def meta(
    command_id: str, tenant: str = "dist-1", actor: str = "admin:ops-1", minute: int = 0
) -> Meta:
    return Meta(tenant, actor, command_id, T0 + timedelta(minutes=minute))


@dataclass
class Store:
    """The ledger, and what its decisions appended (history, allocation log, events)."""

    admins: frozenset[str] = ADMINS
    approval_amounts: ApprovalAmounts = field(default_factory=ApprovalAmounts)
    ledger: MemoryLedger = field(init=False)
    history: list[StatusChange] = field(default_factory=list)
    allocation_log: list[AllocationChange] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ledger = MemoryLedger(self.admins, self.approval_amounts)

    @property
    def payments(self) -> dict[tuple[str, str], Payment]:
        return self.ledger.payment_rows

    @property
    def invoices(self) -> dict[tuple[str, str], Invoice]:
        return self.ledger.invoice_rows

    def handle(self, cmd: Command, m: Meta) -> Outcome:
        # Nothing waits here: a command naming what does not exist is decided as missing.
        outcome = TABLE.decide(cmd, m, uow=self.ledger, may_wait=False)
        assert isinstance(outcome, Decision | Rejected), outcome
        if isinstance(outcome, Decision):
            self.apply(outcome)
        return outcome

    def apply(self, decision: Decision) -> None:
        self.ledger.stage(decision)
        self.history.extend(decision.history)
        self.allocation_log.extend(decision.allocation_changes)
        self.events.extend(decision.events)

    def payment(self, payment_no: str, tenant: str = "dist-1") -> Payment:
        return self.payments[(tenant, payment_no)]

    def invoice(self, invoice_no: str, tenant: str = "dist-1") -> Invoice:
        return self.invoices[(tenant, invoice_no)]

    def state(self) -> tuple[dict[tuple[str, str], Payment], dict[tuple[str, str], Invoice]]:
        return dict(self.payments), dict(self.invoices)


def event_types(outcome: Outcome) -> tuple[str, ...]:
    assert isinstance(outcome, Decision), outcome
    return tuple(e.type for e in outcome.events)
