"""In-memory stand-in for the Postgres adapter: loads what ``services`` says, applies decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.common.domain import Meta
from services.payment_svc.domain.commands import Command, IssueInvoice, VoidInvoice
from services.payment_svc.domain.events import Event
from services.payment_svc.domain.model import AllocationChange, Invoice, Payment, StatusChange
from services.payment_svc.domain.outcomes import Decision, Outcome
from services.payment_svc.domain.services import decide, invoices_to_load

T0 = datetime(2023, 8, 21, 9, 0, tzinfo=UTC)


def meta(
    command_id: str, tenant: str = "dist-1", actor: str = "admin:ops-1", minute: int = 0
) -> Meta:
    return Meta(tenant, actor, command_id, T0 + timedelta(minutes=minute))


@dataclass
class Store:
    """Keyed by (tenant_id, number) like the tables' primary keys."""

    payments: dict[tuple[str, str], Payment] = field(default_factory=dict)
    invoices: dict[tuple[str, str], Invoice] = field(default_factory=dict)
    history: list[StatusChange] = field(default_factory=list)
    allocation_log: list[AllocationChange] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def handle(self, cmd: Command, m: Meta) -> Outcome:
        tenant = m.tenant_id
        if isinstance(cmd, IssueInvoice | VoidInvoice):
            holders = {
                p.payment_no: p
                for (t, _), p in self.payments.items()
                if t == tenant and p.allocation_to(cmd.invoice_no) is not None
            }
            outcome = decide(
                cmd, m, invoice=self.invoices.get((tenant, cmd.invoice_no)), payments=holders
            )
        else:
            payment = self.payments.get((tenant, cmd.payment_no))
            loaded = {
                no: self.invoices[(tenant, no)]
                for no in invoices_to_load(cmd, payment)
                if (tenant, no) in self.invoices
            }
            outcome = decide(cmd, m, payment=payment, invoices=loaded)
        if isinstance(outcome, Decision):
            self.apply(outcome)
        return outcome

    def apply(self, decision: Decision) -> None:
        for p in decision.payments:
            self.payments[(p.tenant_id, p.payment_no)] = p
        for i in decision.invoices:
            self.invoices[(i.tenant_id, i.invoice_no)] = i
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
