"""The seeded payment command stream every payment scenario replays (``random.Random(seed)``).

A realistic back-office mix, built and encoded with the contract's own ``schemas`` package:
invoice.issue ~30 %, payment.record with 1-3 allocations ~30 % (to invoices issued earlier in the
stream, same customer), confirm (SFA payments), resolve (giro/cheque), cancel, allocate,
invoice.void / payment.release (as pickup_svc sends them), ~5 % duplicates re-sent byte for byte,
and some commands the rules refuse (over-allocation, unknown payment). The generator tracks what
each command should do as if applied in stream order; across partitions the service may see them
in another order, so a few more are refused (or wait) than planned, as in production.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.commands import Command, build
from schemas import topics

TENANTS = ("bench-t1", "bench-t2", "bench-t3", "bench-t4")
CUSTOMERS_PER_TENANT = 40
ADMIN = "admin:bench-admin"
PICKUP_ACTOR = "system:pickup"
CENT = Decimal("0.01")

# Relative weights of what the next command is (normalised by random.choices).
MIX: dict[str, int] = {
    "invoice.issue": 30,
    "payment.record": 30,
    "payment.confirm": 8,
    "payment.resolve": 6,
    "payment.cancel": 4,
    "payment.allocate": 5,
    "invoice.void": 3,
    "payment.release": 3,
    "unknown_payment": 2,
    "overallocate": 2,
    "duplicate": 5,
}


@dataclass
class _Invoice:
    tenant: str
    no: str
    customer: str
    amount: Decimal
    open: Decimal
    order_id: str | None
    void: bool = False


@dataclass
class _Payment:
    tenant: str
    no: str
    customer: str
    method: str
    channel: str
    amount: Decimal
    status: str
    allocations: dict[str, Decimal] = field(default_factory=dict)

    @property
    def credit(self) -> Decimal:
        return self.amount - sum(self.allocations.values(), Decimal(0))


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT):f}"


class PaymentStream:
    """An endless, deterministic stream of payment commands; ``take(n)`` hands out the next n."""

    def __init__(self, seed: int, *, prefix: str = "bench") -> None:
        self.rng = random.Random(seed)
        self.prefix = f"{prefix}{seed}"
        self.time = datetime.now(UTC)
        self.sent: list[Command] = []
        self.invoices: list[_Invoice] = []
        self.open_by_customer: dict[tuple[str, str], list[_Invoice]] = {}
        self.payments: list[_Payment] = []
        self.pending: list[_Payment] = []
        self.active: list[_Payment] = []
        self.with_order: list[_Invoice] = []
        self.by_no: dict[str, _Invoice] = {}
        self.holders: dict[str, list[_Payment]] = {}
        self._n = 0
        self._kinds = list(MIX)
        self._weights = list(MIX.values())

    def take(self, count: int) -> list[Command]:
        return [next(self) for _ in range(count)]

    def __iter__(self) -> Iterator[Command]:
        return self

    def __next__(self) -> Command:
        kind = self.rng.choices(self._kinds, self._weights)[0]
        made = self._make(kind)
        if made is None:
            made = self._issue()
        if not made.duplicate:
            self.sent.append(made)
        return made

    # --- one command of each kind (None: nothing fits yet, an invoice is issued instead) ----

    def _make(self, kind: str) -> Command | None:
        makers = {
            "invoice.issue": self._issue,
            "payment.record": lambda: self._record(over=False),
            "overallocate": lambda: self._record(over=True),
            "payment.confirm": self._confirm,
            "payment.resolve": self._resolve,
            "payment.cancel": self._cancel,
            "payment.allocate": self._allocate,
            "invoice.void": self._void,
            "payment.release": self._release,
            "unknown_payment": self._unknown,
            "duplicate": self._duplicate,
        }
        return makers[kind]()

    def _command(
        self, type_: str, subject: str, data: dict[str, Any], tenant: str, actor: str, source: str
    ) -> Command:
        self._n += 1
        self.time += timedelta(milliseconds=1)
        return build(
            type_,
            subject,
            data,
            msg_id=f"{self.prefix}-{self._n:08d}",
            tenant=tenant,
            actor=actor,
            source=source,
            topic=topics.PAYMENT_COMMANDS,
            time=self.time,
        )

    def _customer(self) -> tuple[str, str]:
        tenant = self.rng.choice(TENANTS)
        return tenant, f"CUST-{self.rng.randrange(CUSTOMERS_PER_TENANT):03d}"

    def _issue(self) -> Command:
        tenant, customer = self._customer()
        no = f"INV-{self.prefix}-{len(self.invoices):07d}"
        amount = Decimal(self.rng.randrange(100_000, 50_000_000)) / 100
        order_id = (
            f"ORD-{self.prefix}-{len(self.invoices):07d}" if self.rng.random() < 0.3 else None
        )
        invoice = _Invoice(tenant, no, customer, amount, amount, order_id)
        self.invoices.append(invoice)
        self.by_no[no] = invoice
        self.open_by_customer.setdefault((tenant, customer), []).append(invoice)
        if order_id:
            self.with_order.append(invoice)
        data: dict[str, Any] = {
            "invoice_no": no,
            "customer_id": customer,
            "amount": _money(amount),
            "issue_date": "2026-11-01",
            "due_date": "2026-11-30",
        }
        if order_id:
            data["order_id"] = order_id
        return self._command(
            "invoice.issue", no, data, tenant, "user:bench-billing", "/bench/billing"
        )

    def _open_invoices(self) -> list[_Invoice] | None:
        for _ in range(6):
            if not self.invoices:
                return None
            recent = self.invoices[-3000:]
            pick = self.rng.choice(recent)
            candidates = self.open_by_customer.get((pick.tenant, pick.customer), [])
            candidates[:] = [i for i in candidates if i.open > 0 and not i.void]
            if candidates:
                return candidates
        return None

    def _record(self, *, over: bool) -> Command | None:
        candidates = self._open_invoices()
        if candidates is None:
            return None
        chosen = self.rng.sample(candidates, min(len(candidates), self.rng.randint(1, 3)))
        allocations: dict[str, Decimal] = {}
        for invoice in chosen:
            share = invoice.open if self.rng.random() < 0.5 else invoice.open / 2
            allocations[invoice.no] = max(share.quantize(CENT), CENT)
        if over:  # more than the first invoice's outstanding: refused over_allocation
            allocations[chosen[0].no] = chosen[0].open + 100
        extra = Decimal(self.rng.randrange(0, 500_000)) / 100 if self.rng.random() < 0.3 else 0
        amount = sum(allocations.values(), Decimal(0)) + extra
        method = self.rng.choices(["transfer", "cash", "giro", "cheque"], [40, 20, 30, 10])[0]
        channel = "sfa" if self.rng.random() < 0.25 else "web"
        tenant, customer = chosen[0].tenant, chosen[0].customer
        no = f"PR-{self.prefix}-{len(self.payments):07d}"
        data: dict[str, Any] = {
            "payment_no": no,
            "customer_id": customer,
            "method": method,
            "amount": _money(amount),
            "payment_date": "2026-11-20",
            "channel": channel,
            "allocations": [{"invoice_no": i, "amount": _money(a)} for i, a in allocations.items()],
        }
        if method in ("giro", "cheque"):
            data["giro"] = {
                "number": f"BG-{len(self.payments)}",
                "bank": "BRI",
                "due_date": "2026-11-25",
            }
        status = "pending" if channel == "sfa" else "active" if "giro" in data else "completed"
        payment = _Payment(tenant, no, customer, method, channel, amount, status)
        self.payments.append(payment)
        if not over:
            payment.allocations = allocations
            for invoice in chosen:
                invoice.open -= allocations[invoice.no]
                self.holders.setdefault(invoice.no, []).append(payment)
            (
                self.pending if status == "pending" else self.active if status == "active" else []
            ).append(payment)
        actor = f"user:collector-{self.rng.randrange(20)}"
        source = "/bench/sfa" if channel == "sfa" else "/bench/web"
        return self._command("payment.record", no, data, tenant, actor, source)

    def _pop(self, pool: list[_Payment], status: str) -> _Payment | None:
        while pool:
            payment = pool.pop(self.rng.randrange(len(pool)))
            if payment.status == status:
                return payment
        return None

    def _admin(self, type_: str, payment: _Payment, **data: Any) -> Command:
        body = {"payment_no": payment.no, **data}
        return self._command(type_, payment.no, body, payment.tenant, ADMIN, "/bench/backoffice")

    def _confirm(self) -> Command | None:
        payment = self._pop(self.pending, "pending")
        if payment is None:
            return None
        payment.status = "active" if payment.method in ("giro", "cheque") else "completed"
        if payment.status == "active":
            self.active.append(payment)
        return self._admin("payment.confirm", payment)

    def _resolve(self) -> Command | None:
        payment = self._pop(self.active, "active")
        if payment is None:
            return None
        payment.status = "completed"
        return self._admin("payment.resolve", payment, resolved_date="2026-11-26")

    def _probe(self, pool: list[Any], fits: Any, window: int = 2000) -> Any:
        """A random recent element of ``pool`` that ``fits``, or None after a few tries."""
        recent = pool[-window:]
        for _ in range(8 if recent else 0):
            item = self.rng.choice(recent)
            if fits(item):
                return item
        return None

    def _cancel(self) -> Command | None:
        payment: _Payment | None = self._probe(self.payments, lambda p: p.status != "cancelled")
        if payment is None:
            return None
        payment.status = "cancelled"
        for invoice_no, amount in payment.allocations.items():
            self.by_no[invoice_no].open += amount
        payment.allocations = {}
        return self._admin(
            "payment.cancel", payment, reason_code="customer_request", reason="bench cancel"
        )

    def _allocate(self) -> Command | None:
        payment: _Payment | None = self._probe(
            self.payments, lambda p: p.status != "cancelled" and p.credit > 0
        )
        if payment is None:
            return None
        targets = [
            i
            for i in self.open_by_customer.get((payment.tenant, payment.customer), [])
            if i.open > 0 and not i.void and i.no not in payment.allocations
        ]
        if not targets:
            return None
        invoice = self.rng.choice(targets)
        amount = min(invoice.open, payment.credit).quantize(CENT)
        invoice.open -= amount
        payment.allocations[invoice.no] = amount
        self.holders.setdefault(invoice.no, []).append(payment)
        allocations = [{"invoice_no": invoice.no, "amount": _money(amount)}]
        return self._command(
            "payment.allocate",
            payment.no,
            {"payment_no": payment.no, "allocations": allocations},
            payment.tenant,
            f"user:collector-{self.rng.randrange(20)}",
            "/bench/web",
        )

    def _void(self) -> Command | None:
        invoice: _Invoice | None = self._probe(self.with_order, lambda i: not i.void)
        if invoice is None:
            return None
        invoice.void = True
        for payment in self.holders.pop(invoice.no, []):
            payment.allocations.pop(invoice.no, None)
        data = {
            "invoice_no": invoice.no,
            "order_id": invoice.order_id,
            "reason": "pickup cancelled",
        }
        return self._command(
            "invoice.void", invoice.no, data, invoice.tenant, PICKUP_ACTOR, "/bench/pickup"
        )

    def _release(self) -> Command | None:
        invoice: _Invoice | None = self._probe(
            self.with_order, lambda i: not i.void and bool(self.holders.get(i.no))
        )
        if invoice is None:
            return None
        payment = self.holders[invoice.no].pop()
        amount = payment.allocations.pop(invoice.no, None)
        if amount is not None:
            invoice.open += amount
        data = {
            "payment_no": payment.no,
            "invoice_no": invoice.no,
            "order_id": invoice.order_id,
            "reason": "pickup cancelled",
        }
        return self._command(
            "payment.release", payment.no, data, payment.tenant, PICKUP_ACTOR, "/bench/pickup"
        )

    def _unknown(self) -> Command:
        tenant, _ = self._customer()
        no = f"PR-{self.prefix}-missing-{self._n}"
        type_ = self.rng.choice(["payment.confirm", "payment.cancel"])
        return self._command(type_, no, {"payment_no": no}, tenant, ADMIN, "/bench/backoffice")

    def _duplicate(self) -> Command | None:
        if not self.sent:
            return None
        original = self.rng.choice(self.sent[-1000:])
        return Command(
            original.id, original.type, original.topic, original.key, original.value, duplicate=True
        )
