"""payment_svc's ledger over dictionaries: what the unit tests and the chaos oracle decide on
through the very dispatch production runs (``handlers.TABLE``), with no database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from services.common.runtime.seam import Ref
from services.payment_svc.domain.model import Invoice, Payment
from services.payment_svc.domain.outcomes import Decision
from services.payment_svc.domain.policy import ApprovalAmounts

Key = tuple[str, str]  # (tenant_id, number), like the tables' primary keys


@dataclass
class MemoryLedger:
    admins: frozenset[str] = frozenset()
    approval_amounts: ApprovalAmounts = field(default_factory=ApprovalAmounts)
    payment_rows: dict[Key, Payment] = field(default_factory=dict)
    invoice_rows: dict[Key, Invoice] = field(default_factory=dict)

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

    def exists(self, ref: Ref) -> bool:
        key = (ref.tenant_id, ref.id)
        if ref.kind == "payment":
            return key in self.payment_rows
        return ref.kind == "invoice" and key in self.invoice_rows

    def stage(self, decision: Decision) -> None:
        for invoice in decision.invoices:
            self.invoice_rows[(invoice.tenant_id, invoice.invoice_no)] = invoice
        for payment in decision.payments:
            self.payment_rows[(payment.tenant_id, payment.payment_no)] = payment
