"""The ops checks catch a corrupted ledger: each broken rule is named with the aggregate."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg
import pytest

from services.common.domain import Meta
from services.common.migrations import migrate
from services.payment_svc.adapters.unit_of_work import PaymentUnitOfWork
from services.payment_svc.adapters.verify import check_invariants, state_digest
from services.payment_svc.domain.commands import (
    AllocationLine,
    Command,
    IssueInvoice,
    RecordPayment,
)
from services.payment_svc.domain.outcomes import Decision
from services.payment_svc.handlers import TABLE

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def _apply(conn: psycopg.Connection[object], cmd: Command, command_id: str) -> None:
    meta = Meta("t1", "admin:ani", command_id, AT)
    uow = PaymentUnitOfWork(conn, AT, names=TABLE.names)
    uow.load_names((meta.tenant_id, name) for name in TABLE.specs[cmd.type].loads(cmd))
    decision = TABLE.decide(cmd, meta, uow=uow, may_wait=False)
    assert isinstance(decision, Decision), decision
    uow.stage(decision)
    uow.flush()


def test_corruptions_are_reported_and_change_the_digest(fresh_database: str) -> None:
    migrate(fresh_database, "payment")
    with psycopg.connect(fresh_database) as conn:
        _apply(conn, IssueInvoice("INV-1", "C1", Decimal("100.00"), date(2026, 11, 1)), "c1")
        _apply(
            conn,
            RecordPayment(
                "P-1",
                "C1",
                "cash",
                Decimal("80.00"),
                date(2026, 11, 2),
                allocations=(AllocationLine("INV-1", Decimal("80.00")),),
            ),
            "c2",
        )
        conn.commit()
        assert check_invariants(conn) == []
        sound = state_digest(conn)

        conn.execute("UPDATE payment.invoices SET allocated = 70, settled = 70")
        conn.execute("UPDATE payment.payments SET status = 'cancelled'")
        found = check_invariants(conn)
        assert state_digest(conn) != sound
        conn.rollback()

    assert sorted(found) == sorted(
        [
            "invoice allocated total differs from its live allocations: t1/INV-1",
            "invoice settled total differs from its allocations by completed payments: t1/INV-1",
            "cancelled or bounced payment still has live allocations: t1/P-1",
            "payment status differs from the last entry of its status history: t1/P-1",
        ]
    )
