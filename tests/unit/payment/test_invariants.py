"""Property tests: random command sequences (with replays and reorders) keep the ledger sound."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from services.common.domain import Meta
from services.payment_svc.domain.commands import (
    AllocatePayment,
    AllocationLine,
    CancelPayment,
    Command,
    ConfirmPayment,
    IssueInvoice,
    RecordPayment,
    ReleasePayment,
    ResolvePayment,
    VoidInvoice,
)
from services.payment_svc.domain.model import PAYMENT_METHODS, ZERO, Giro, PaymentMethod
from services.payment_svc.domain.outcomes import Decision, Rejected
from tests.unit.payment.fakes import Store, meta

INVOICES = ("INV-1", "INV-2", "INV-3", "INV-4")
PAYMENTS = ("P-1", "P-2", "P-3", "P-4", "P-5")
# Skewed so most commands meet each other; the rarer customer and tenant probe the boundaries.
CUSTOMERS = ("C-1", "C-1", "C-1", "C-2")
TENANTS = ("dist-1", "dist-1", "dist-1", "dist-1", "dist-2")
PAY_DAY = date(2023, 8, 21)

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("150"), places=2)
small_amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("60"), places=2)


def lines(min_size: int = 0) -> st.SearchStrategy[tuple[AllocationLine, ...]]:
    return st.lists(
        st.builds(AllocationLine, st.sampled_from(INVOICES), small_amounts),
        min_size=min_size,
        max_size=2,
        unique_by=lambda line: line.invoice_no,
    ).map(tuple)


@st.composite
def record_payment(draw: st.DrawFn) -> RecordPayment:
    method = draw(st.sampled_from(PAYMENT_METHODS))
    giro = Giro("G-1", "BRI", PAY_DAY) if method in ("giro", "cheque") else None
    return RecordPayment(
        draw(st.sampled_from(PAYMENTS)),
        draw(st.sampled_from(CUSTOMERS)),
        method,
        draw(amounts),
        PAY_DAY,
        channel=draw(st.sampled_from(("web", "sfa"))),
        giro=giro,
        allocations=draw(lines()),
    )


payment_nos = st.sampled_from(PAYMENTS)
invoice_nos = st.sampled_from(INVOICES)
commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(IssueInvoice, invoice_nos, st.sampled_from(CUSTOMERS), amounts, st.just(PAY_DAY)),
    record_payment(),
    st.builds(ConfirmPayment, payment_nos),
    st.builds(
        ResolvePayment,
        payment_nos,
        st.integers(-1, 2).map(lambda d: PAY_DAY + timedelta(days=d)),
    ),
    st.builds(CancelPayment, payment_nos, st.sampled_from((None, "giro_bounced", "other"))),
    st.builds(AllocatePayment, payment_nos, lines(min_size=1)),
    st.builds(ReleasePayment, payment_nos, invoice_nos),
    st.builds(VoidInvoice, invoice_nos),
)
SETUP_PAYMENTS = (
    RecordPayment("P-1", "C-1", "cash", Decimal("80.00"), PAY_DAY),
    RecordPayment("P-2", "C-1", "giro", Decimal("120.00"), PAY_DAY, giro=Giro("G", "BRI", PAY_DAY)),
    RecordPayment("P-3", "C-1", "transfer", Decimal("50.00"), PAY_DAY, channel="sfa"),
)
# A step is a new command, or a replay (same id, same content) of an earlier one.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("new"), commands, st.sampled_from(TENANTS)),
        st.tuples(st.just("replay"), st.integers(0, 50), st.just("")),
    ),
    min_size=15,
    max_size=50,
)


def check_invariants(store: Store) -> None:
    held: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    settled: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for (tenant, _), p in store.payments.items():
        assert p.allocated <= p.amount, f"{p.payment_no} allocates more than it holds"
        assert all(a.amount > ZERO for a in p.allocations)
        if p.status == "cancelled":
            assert p.allocations == (), f"cancelled {p.payment_no} still allocated"
        for a in p.allocations:
            assert (tenant, a.invoice_no) in store.invoices, "allocation to an unknown invoice"
            held[(tenant, a.invoice_no)] += a.amount
            if p.status == "completed":
                settled[(tenant, a.invoice_no)] += a.amount
    for key, inv in store.invoices.items():
        assert inv.allocated == held[key]
        assert inv.outstanding == inv.amount - held[key] >= ZERO
        assert inv.settled == settled[key]
        if inv.voided:
            assert held[key] == ZERO, f"void {inv.invoice_no} still has allocations"
    _check_history_matches_state(store)


def _check_history_matches_state(store: Store) -> None:
    """Each aggregate's history is a chain from creation to its current status."""
    chains: dict[tuple[str, str, str], list[tuple[str | None, str]]] = defaultdict(list)
    for h in store.history:
        chains[(h.tenant_id, h.entity, h.entity_id)].append((h.from_status, h.to_status))
    current: dict[tuple[str, str, str], str] = {
        (t, "payment", n): p.status for (t, n), p in store.payments.items()
    }
    current |= {(t, "invoice", n): i.status for (t, n), i in store.invoices.items()}
    assert set(chains) == set(current)
    for key, chain in chains.items():
        assert chain[0][0] is None, f"{key} history does not start at creation"
        for (_, to), (frm, _) in pairwise(chain):
            assert frm == to, f"{key} history skips a step: {chain}"
        assert chain[-1][1] == current[key]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_random_command_sequences_keep_the_ledger_invariants(
    plan: list[tuple[str, object, str]],
) -> None:
    store = Store()
    # Most invoices and payments exist from the start, so that random commands meet each other;
    # INV-4, P-4 and P-5 are left for the random commands to create.
    for no, amount in zip(INVOICES[:3], ("100.00", "45.50", "150.00"), strict=True):
        store.handle(IssueInvoice(no, "C-1", Decimal(amount), PAY_DAY), meta(f"setup-{no}"))
    for setup in SETUP_PAYMENTS:
        store.handle(setup, meta(f"setup-{setup.payment_no}"))
    sent: list[tuple[Command, Meta]] = []
    for n, (kind, what, tenant) in enumerate(plan):
        if kind == "replay":
            assert isinstance(what, int)
            if not sent:
                continue
            cmd, m = sent[what % len(sent)]
        else:
            assert isinstance(what, Command)
            cmd, m = what, meta(f"cmd-{n}", tenant=tenant, minute=n)
            sent.append((cmd, m))
        history_before = list(store.history)
        log_before = list(store.allocation_log)

        outcome = store.handle(cmd, m)
        event(f"{cmd.type}: {outcome.code if isinstance(outcome, Rejected) else 'accepted'}")

        # Append-only: what was written stays exactly as written; new entries name this command.
        assert store.history[: len(history_before)] == history_before
        assert store.allocation_log[: len(log_before)] == log_before
        if isinstance(outcome, Decision):
            assert all(h.command_id == m.command_id for h in outcome.history)
            assert all(c.command_id == m.command_id for c in outcome.allocation_changes)
        check_invariants(store)


# --- invoice.void and payment.release of one order commute ---------------------------------


@st.composite
def holdings(draw: st.DrawFn) -> list[tuple[str, str, Decimal]]:
    """1 to 3 payments (method, status path) each holding part of INV-O of 300.00."""
    chosen = draw(st.lists(st.sampled_from(PAYMENTS), min_size=1, max_size=3, unique=True))
    return [
        (
            p,
            draw(st.sampled_from(("cash-web", "giro-web", "giro-resolved", "cash-sfa"))),
            draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100"), places=2)),
        )
        for p in chosen
    ]


def order_store(held: list[tuple[str, str, Decimal]]) -> Store:
    store = Store()
    store.handle(
        IssueInvoice("INV-O", "C-1", Decimal("300.00"), PAY_DAY, order_id="ORD-O"), meta("i-o")
    )
    store.handle(IssueInvoice("INV-OTHER", "C-1", Decimal("300.00"), PAY_DAY), meta("i-x"))
    for payment_no, path, amount in held:
        method: PaymentMethod = "giro" if path.startswith("giro") else "cash"
        rec = RecordPayment(
            payment_no,
            "C-1",
            method,
            Decimal("150.00"),
            PAY_DAY,
            channel="sfa" if path == "cash-sfa" else "web",
            giro=Giro("G", "BRI", PAY_DAY) if method == "giro" else None,
            # Each also pays another invoice, which the order's cancellation must not touch.
            allocations=(
                AllocationLine("INV-O", amount),
                AllocationLine("INV-OTHER", Decimal("10.00")),
            ),
        )
        store.handle(rec, meta(f"rec-{payment_no}"))
        if path == "giro-resolved":
            store.handle(ResolvePayment(payment_no, PAY_DAY), meta(f"res-{payment_no}"))
    return store


@settings(max_examples=100, deadline=None)
@given(holdings(), st.data())
def test_void_and_release_for_one_order_commute_and_are_idempotent(
    held: list[tuple[str, str, Decimal]], data: st.DataObject
) -> None:
    order_cmds: list[tuple[Command, Meta]] = [
        # As pickup_svc sends them: naming the order (``system:pickup`` may only then).
        (VoidInvoice("INV-O", "order cancelled", "ORD-O"), meta("void-O", actor="system:pickup"))
    ] + [
        (
            ReleasePayment(p, "INV-O", "order cancelled", "ORD-O"),
            meta(f"rel-{p}", actor="system:pickup"),
        )
        for p, _, _ in held
    ]
    canonical = order_store(held)
    for cmd, m in order_cmds:
        canonical.handle(cmd, m)

    # Any order, every message at least once, some several times.
    order = data.draw(st.permutations(range(len(order_cmds))))
    extra = data.draw(st.lists(st.integers(0, len(order_cmds) - 1), max_size=6))
    positions = data.draw(st.lists(st.integers(0, 100), min_size=len(extra), max_size=len(extra)))
    sequence = list(order)
    for idx, pos in zip(extra, positions, strict=True):
        sequence.insert(pos % (len(sequence) + 1), idx)
    shuffled = order_store(held)
    for idx in sequence:
        cmd, m = order_cmds[idx]
        shuffled.handle(cmd, m)

    assert shuffled.state() == canonical.state()
    check_invariants(shuffled)
    invoice = shuffled.invoice("INV-O")
    assert (invoice.status, invoice.allocated) == ("void", ZERO)
    for payment_no, _, _ in held:
        payment = shuffled.payment(payment_no)
        assert payment.allocation_to("INV-O") is None
        assert payment.amount_to("INV-OTHER") == Decimal("10.00")
