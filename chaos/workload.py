"""The known workload of a chaos run: a seeded stream of legitimate commands in waves.

Built so that its outcome does not depend on the order partitions are consumed in (what the
oracle needs to predict the final state): every case uses invoices and payments of its own; the
commands of one payment or one order share a key, hence a partition and an order; a payment
names only invoices issued before it (it waits for them if it overtakes them); allocations never
exceed an invoice, so no payment's acceptance depends on another's. A pickup cancellation is
sent only once its order's payment is recorded (``needs``), as a seller cancels long after
paying; the ``invoice.void`` / ``payment.release`` that an approval makes then commute with
everything else. Deliberate refusals (forbidden, over-allocation) are refused in any order.

Commands carry ``time`` = when the wave is built, so a command that overtakes what it names waits
for it (docs/ARCHITECTURE.md "Waiting") instead of being refused as too old.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from schemas import Envelope, encode, kafka_key, make_event, topics

ADMINS = ("chaos-ani", "chaos-budi")
ADMIN = f"admin:{ADMINS[0]}"
OTHER_ADMIN = f"admin:{ADMINS[1]}"
CENT = Decimal("0.01")
# Case kinds and their weights; each is 2-8 commands.
PAYMENT_CASES = {"paid": 30, "sfa": 20, "giro": 15, "split": 15, "cancelled": 10, "refused": 10}
PICKUP_CASES = {"approved": 45, "rejected": 30, "forbidden": 10, "rearranged": 15}


@dataclass(frozen=True, slots=True)
class Sent:
    """One record to produce, and the envelope it carries (None for hostile bytes)."""

    topic: str
    key: bytes
    value: bytes
    envelope: Envelope | None
    hostile: str = ""  # the kind of hostility; "" for legitimate traffic
    duplicate: bool = False


def sent(envelope: Envelope, topic: str) -> Sent:
    return Sent(topic, kafka_key(envelope), encode(envelope), envelope)


def pii_name(n: int) -> str:
    """A customer name the logs must never show (the run greps for the marker)."""
    return f"Toko PIIMARK{n:06d} Sejahtera"


# What a later step waits for: ("payment", tenant, number, "") recorded, or
# ("order", tenant, order id, state) in that state.
Need = tuple[str, str, str, str]


@dataclass
class Stage:
    need: Need
    makers: list[Callable[[], Envelope]]
    then: Stage | None = None

    def size(self) -> int:
        return len(self.makers) + (self.then.size() if self.then else 0)


@dataclass
class Wave:
    records: list[Sent] = field(default_factory=list)
    # What had to be visible before the wave's later steps were sent.
    needs: set[Need] = field(default_factory=set)


class Workload:
    """Waves of legitimate commands for ``tenants``; ``wave(n)`` builds about ``n`` commands."""

    def __init__(self, seed: int, tenants: tuple[str, ...], prefix: str) -> None:
        self.rng = random.Random(seed)
        self.tenants = tenants
        self.prefix = prefix
        self._n = 0
        self._cases = 0
        self.all_sent: list[Sent] = []
        # Cancellations to send in a later wave, once their order's payment is recorded.
        # Steps to send in a later wave, each once what it needs is visible (see ``Need``).
        self._later: list[Stage] = []
        self.payments: list[tuple[str, str]] = []  # (tenant, payment_no) of accepted records

    # --- waves ------------------------------------------------------------------------------

    def awaited(self) -> set[Need]:
        """What the steps still to be sent wait for."""
        return {stage.need for stage in self._later}

    def wave(self, size: int, now: datetime, visible: set[Need]) -> Wave:
        """About ``size`` new commands, after the later steps whose need is ``visible``."""
        self.now = now
        wave = Wave()
        later, self._later = self._later, []
        for stage in later:
            if stage.need not in visible:
                self._later.append(stage)
                continue
            wave.needs.add(stage.need)
            for make in stage.makers:
                env = make()
                wave.records.append(sent(env, _TOPIC[env.type]))
            if stage.then is not None:
                self._later.append(stage.then)
        target = len(wave.records) + size
        while len(wave.records) < target:
            if self.rng.random() < 0.25:
                self._pickup_case(wave)
            else:
                self._payment_case(wave)
        dups = [r for r in wave.records if self.rng.random() < 0.03]
        wave.records += [Sent(r.topic, r.key, r.value, r.envelope, duplicate=True) for r in dups]
        self.all_sent += wave.records
        return wave

    def pending_later(self) -> int:
        return sum(stage.size() for stage in self._later)

    # --- building blocks --------------------------------------------------------------------

    def _id(self) -> str:
        self._n += 1
        return f"{self.prefix}-{self._n:08d}"

    def _cmd(
        self, type_: str, subject: str, data: dict[str, Any], tenant: str, actor: str
    ) -> Envelope:
        source = "/chaos/backoffice" if actor.startswith("admin:") else "/chaos/app"
        return make_event(
            type_,
            data,
            id=self._id(),
            source=source,
            time=self.now,
            tenantid=tenant,
            subject=subject,
            actor=actor,
        )

    def _invoice(
        self, tenant: str, no: str, customer: str, amount: Decimal, **extra: Any
    ) -> Envelope:
        data = {
            "invoice_no": no,
            "customer_id": customer,
            "customer_name": pii_name(self._cases),
            "amount": _money(amount),
            "issue_date": "2026-11-01",
            "due_date": "2026-12-31",
            **extra,
        }
        return self._cmd("invoice.issue", no, data, tenant, "system:billing")

    def _record(
        self,
        tenant: str,
        no: str,
        customer: str,
        allocations: dict[str, Decimal],
        *,
        method: str = "transfer",
        channel: str = "web",
        actor: str = "user:chaos-clerk",
        extra: Decimal = Decimal(0),
    ) -> Envelope:
        data: dict[str, Any] = {
            "payment_no": no,
            "customer_id": customer,
            "customer_name": pii_name(self._cases),
            "method": method,
            "amount": _money(sum(allocations.values(), Decimal(0)) + extra),
            "payment_date": "2026-11-20",
            "channel": channel,
            "allocations": [{"invoice_no": i, "amount": _money(a)} for i, a in allocations.items()],
        }
        if method in ("giro", "cheque"):
            data["giro"] = {"number": f"BG-{no}", "bank": "BRI", "due_date": "2026-11-25"}
        return self._cmd("payment.record", no, data, tenant, actor)

    def _on_payment(self, type_: str, tenant: str, no: str, actor: str, **data: Any) -> Envelope:
        return self._cmd(type_, no, {"payment_no": no, **data}, tenant, actor)

    def _sfa_confirmed(
        self, tenant: str, no: str, customer: str, allocations: dict[str, Decimal], by: str
    ) -> list[Envelope]:
        """A cash payment recorded in the field (SFA) by ``by``, and an admin's confirm of it."""
        return [
            self._record(tenant, no, customer, allocations, method="cash", channel="sfa", actor=by),
            self._on_payment("payment.confirm", tenant, no, ADMIN),
        ]

    def _amount(self) -> Decimal:
        return Decimal(self.rng.randrange(10_000, 5_000_000)) / 100

    # --- payment cases ----------------------------------------------------------------------

    def _payment_case(self, wave: Wave) -> None:
        self._cases += 1
        kind = self.rng.choices(list(PAYMENT_CASES), list(PAYMENT_CASES.values()))[0]
        tenant = self.rng.choice(self.tenants)
        base = f"{self.prefix}-{self._cases:06d}"
        customer = f"C-{base}"
        inv, pay = f"INV-{base}", f"PR-{base}"
        amount = self._amount()
        out: list[Envelope] = [self._invoice(tenant, inv, customer, amount)]
        if kind == "paid":
            out.append(self._record(tenant, pay, customer, {inv: amount}))
        elif kind == "sfa":
            collector = f"user:collector-{self.rng.randrange(9)}"
            out += self._sfa_confirmed(tenant, pay, customer, {inv: amount}, collector)
        elif kind == "giro":
            half = (amount / 2).quantize(CENT)
            out.append(self._record(tenant, pay, customer, {inv: half}, method="giro"))
            out.append(
                self._on_payment("payment.resolve", tenant, pay, ADMIN, resolved_date="2026-11-26")
            )
        elif kind == "split":
            inv2, amount2 = f"INV-{base}-B", self._amount()
            out.append(self._invoice(tenant, inv2, customer, amount2))
            shares = {inv: (amount / 3).quantize(CENT), inv2: amount2}
            out.append(self._record(tenant, pay, customer, shares, extra=Decimal("12.50")))
        elif kind == "cancelled":
            out.append(self._record(tenant, pay, customer, {inv: amount}))
            out.append(
                self._on_payment(
                    "payment.cancel",
                    tenant,
                    pay,
                    OTHER_ADMIN,
                    reason_code="input_error",
                    reason="Salah input nominal",
                )
            )
        else:  # refused, whatever the order: confirm by its recorder, over-allocation
            out += self._sfa_confirmed(tenant, pay, customer, {inv: amount}, ADMIN)
            out.append(self._record(tenant, f"{pay}-X", customer, {inv: amount + 1}))
        if kind != "refused":
            self.payments.append((tenant, pay))
        wave.records += [sent(e, topics.PAYMENT_COMMANDS) for e in out]

    # --- pickup cases -----------------------------------------------------------------------

    def _pickup_case(self, wave: Wave) -> None:
        self._cases += 1
        kind = self.rng.choices(list(PICKUP_CASES), list(PICKUP_CASES.values()))[0]
        tenant = self.rng.choice(self.tenants)
        base = f"{self.prefix}-{self._cases:06d}"
        order, inv, pay = f"ORD-{base}", f"INV-{base}", f"PR-{base}"
        customer, amount = f"C-{base}", self._amount()
        seller = f"user:seller-{tenant}"
        first = [
            sent(
                self._invoice(tenant, inv, customer, amount, order_id=order),
                topics.PAYMENT_COMMANDS,
            ),
            sent(self._record(tenant, pay, customer, {inv: amount}), topics.PAYMENT_COMMANDS),
            sent(self._arrange(tenant, order, inv, pay, seller), topics.PICKUP_COMMANDS),
        ]
        self.payments.append((tenant, pay))
        wave.records += first

        def request() -> Envelope:
            return self._cmd(
                "pickup.cancel.requested",
                order,
                {"order_id": order, "reason": "Pembeli membatalkan pesanan", "origin": "order"},
                tenant,
                seller,
            )

        def decide(approve: bool, actor: str = ADMIN) -> Callable[[], Envelope]:
            def make() -> Envelope:
                data = {
                    "order_id": order,
                    "decision": "approve" if approve else "reject",
                    "reason": "Disetujui" if approve else "Paket sudah dikemas",
                }
                return self._cmd("pickup.cancel.decide", order, data, tenant, actor)

            return make

        # The seller asks once the payment is recorded; the admin decides once the request is
        # open (the two travel on different topics, so only the state orders them); the seller
        # arranges again once the cancellation is done.
        decisions: list[Callable[[], Envelope]]
        then: Stage | None = None
        if kind == "approved":
            decisions = [decide(True)]
        elif kind == "rejected":
            decisions = [decide(False)]
        elif kind == "forbidden":  # the seller approving their own request, then a rejection
            decisions = [decide(True, seller), decide(False)]
        else:
            decisions = [decide(True)]
            again = [lambda: self._arrange(tenant, order, inv, pay, seller)]
            then = Stage(("order", tenant, order, "pickup_cancelled"), again)
        pending = Stage(("order", tenant, order, "cancel_pending"), decisions, then)
        self._later.append(Stage(("payment", tenant, pay, ""), [request], pending))

    def _arrange(self, tenant: str, order: str, inv: str, pay: str, seller: str) -> Envelope:
        data = {
            "order_id": order,
            "courier": self.rng.choice(("JNE", "SICEPAT", "JNT")),
            "payment_type": "prepaid",
            "invoice_no": inv,
            "payment_nos": [pay],
        }
        return self._cmd("pickup.arrange", order, data, tenant, seller)


_TOPIC = {
    "pickup.arrange": topics.PICKUP_COMMANDS,
    "pickup.cancel.decide": topics.PICKUP_COMMANDS,
    "pickup.cancel.requested": topics.PICKUP_CANCEL_REQUESTED,
}


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT):f}"


def utc_now() -> datetime:
    return datetime.now(UTC)
