"""Two payment_svc instances in one consumer group, commands for the same invoices on different
partitions (allocations keyed by payment, voids keyed by invoice), all interleaved: balances
never corrupt, no deadlock escapes as a failure, every command is settled exactly once."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from services.common.runtime.service import utc_now
from services.common.settings import Settings
from services.payment_svc.bootstrap import build_spec
from tests.integration.payment.helpers import (
    allocate,
    issue,
    outcomes,
    record,
    release,
    send,
    send_in_turn,
    simple,
    violations,
    void,
    wait_settled,
)
from tests.integration.runtime.helpers import running

pytestmark = pytest.mark.integration

INVOICES = [f"INV-{i:02d}" for i in range(6)]
VOIDED = INVOICES[:3]
PAYMENTS = [f"P-{i:02d}" for i in range(48)]
# The second instance's clock runs an hour ahead, so its writes can be told apart.
AHEAD = timedelta(hours=1)
REBALANCE_S = 6
BATCH = 4


def _payment_commands(rng: random.Random, payment_no: str) -> list[dict[str, Any]]:
    """One payment's life, in order (same key, same partition): record, allocate, maybe more."""
    first, second, third = rng.sample(INVOICES, 3)
    steps = [
        record(payment_no, "300.00", [(first, "100.00")]),
        allocate(payment_no, [(second, "100.00")]),
        allocate(payment_no, [(third, "50.00"), (first, "25.00")]),
    ]
    roll = rng.random()
    if roll < 0.25:
        steps.append(release(payment_no, first))
    elif roll < 0.4:
        steps.append(simple("payment.cancel", payment_no, reason_code="input_error"))
    return steps


def _interleaved(rng: random.Random) -> list[dict[str, Any]]:
    """Every payment's commands, interleaved at random with voids of the first invoices."""
    queues = [_payment_commands(rng, p) for p in PAYMENTS]
    # Each invoice is voided twice under different ids, as two cancellations could ask.
    queues += [[void(i)] for i in VOIDED] + [[void(i)] for i in VOIDED]
    merged: list[dict[str, Any]] = []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        merged.append(queue.pop(0))
    return merged


def _ahead_clock() -> datetime:
    return utc_now() + AHEAD


def _rows(dsn: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query.encode()).fetchall()


@pytest.fixture
def small_batches(test_settings: Settings) -> Settings:
    # Small batches mean many short transactions racing for the same invoice rows.
    return test_settings.model_copy(update={"batch_size": BATCH})


@pytest.fixture
def two_instances(small_batches: Settings) -> Iterator[None]:
    test_settings = small_batches
    with ExitStack() as stack:
        stack.enter_context(running(build_spec(test_settings), test_settings))
        stack.enter_context(running(build_spec(test_settings, clock=_ahead_clock), test_settings))
        # The embedded broker's group description lists no members, so give the group time
        # to settle (a join takes about half the 2 s session timeout, a rebalance two joins);
        # the test checks at the end that both instances did part of the work.
        time.sleep(REBALANCE_S)
        yield


def test_two_instances_keep_every_balance_whole(
    test_settings: Settings, two_instances: None
) -> None:
    dsn = test_settings.database_dsn()
    send_in_turn(test_settings, *(issue(i, "1000.00", order_id=f"ORD-{i}") for i in INVOICES))
    commands = _interleaved(random.Random(20261122))
    send(test_settings, *commands)
    wait_settled(dsn, len(INVOICES) + len(commands), timeout=240)

    assert violations(dsn) == []
    # Every command was applied or refused; none hit a handler error or a deadlock.
    settled = outcomes(dsn)
    # A payment whose record was refused (its invoice voided first) is then not found.
    assert set(settled) <= {
        "applied",
        "rejected:over_allocation",
        "rejected:invalid_state",
        "rejected:not_found",
    }
    assert sum(settled.values()) == len(INVOICES) + len(commands)
    # Every kind of command took effect somewhere (each emitted event type passed the contract).
    applied = {
        t
        for (t,) in _rows(
            dsn, "SELECT DISTINCT message_type FROM payment.inbox WHERE outcome = 'applied'"
        )
    }
    assert applied == {
        "invoice.issue",
        "payment.record",
        "payment.allocate",
        "payment.release",
        "payment.cancel",
        "invoice.void",
    }
    # The voids raced with live allocations: they had allocations to release, not an empty set.
    void_ids = [c["id"] for c in commands if c["type"] == "invoice.void"]
    released_by_voids = _rows(
        dsn,
        "SELECT count(*) FROM payment.allocation_history WHERE kind = 'released'"
        f" AND command_id IN ({', '.join(repr(v) for v in void_ids)})",
    )
    assert released_by_voids[0][0] > 0

    live = dict(
        _rows(
            dsn,
            "SELECT i.invoice_no, i.amount - coalesce(sum(a.amount), 0)"
            " FROM payment.invoices i LEFT JOIN payment.allocations a"
            " ON a.tenant_id = i.tenant_id AND a.invoice_no = i.invoice_no"
            " GROUP BY i.invoice_no, i.amount",
        )
    )
    for invoice_no, status, outstanding in _rows(
        dsn, "SELECT invoice_no, status, outstanding FROM payment.invoices"
    ):
        assert outstanding == live[invoice_no], invoice_no
        assert outstanding >= Decimal("0.00"), invoice_no
        if invoice_no in VOIDED:
            assert (status, outstanding) == ("void", Decimal("1000.00")), invoice_no
        else:
            assert status != "void", invoice_no
    assert _rows(
        dsn,
        "SELECT count(*) FROM payment.allocations a JOIN payment.invoices i"
        " USING (tenant_id, invoice_no) WHERE i.voided",
    ) == [(0,)]
    # Each invoice voided once, though asked twice.
    voids = _rows(
        dsn,
        "SELECT entity_id, count(*) FROM payment.status_history"
        " WHERE entity = 'invoice' AND to_status = 'void' GROUP BY entity_id",
    )
    assert sorted(voids) == [(i, 1) for i in VOIDED]
    # Both instances did part of the work.
    written_by = _rows(
        dsn,
        "SELECT updated_at > now() + interval '30 minutes', count(*) FROM payment.payments"
        " GROUP BY 1",
    )
    assert {ahead for ahead, _ in written_by} == {True, False}
