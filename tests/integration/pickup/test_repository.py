"""The pickup repository and ops checks against real Postgres: what is saved loads back the same,
history is kept, and `lunas verify` sees a broken state."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from services.common.migrations import migrate
from services.pickup_svc.adapters.postgres import load_order, save_order
from services.pickup_svc.adapters.verify import check_invariants, state_digest
from services.pickup_svc.domain.model import Order, OrderState
from services.pickup_svc.domain.services import (
    arrange_pickup,
    request_cancel,
)
from tests.unit.pickup.builders import (
    ADMIN,
    ADMINS,
    ORDER,
    TENANT,
    accepted,
    arrange_cmd,
    cancel_cmd,
    decide_cancel,
    decide_cmd,
    meta,
    voided,
)

pytestmark = pytest.mark.integration

Step = Callable[[Order | None], Order]


def _steps() -> list[Step]:
    """Seed 002 with both outcomes: reject, ask again, approve, arrange a new bill."""
    return [
        lambda o: (
            accepted(
                arrange_pickup(
                    o, arrange_cmd(payment_nos=("P1", "P2")), meta(minute=1), awb="JNE-1"
                )
            ).order
        ),
        lambda o: accepted(request_cancel(o, cancel_cmd(), meta(minute=2), request_id="R1")).order,
        lambda o: (
            accepted(
                decide_cancel(
                    o,
                    decide_cmd("reject", "sudah jalan"),
                    meta(ADMIN, minute=3),
                    admins=ADMINS,
                    void=voided,
                )
            ).order
        ),
        lambda o: accepted(request_cancel(o, cancel_cmd(), meta(minute=4), request_id="R2")).order,
        lambda o: (
            accepted(
                decide_cancel(
                    o, decide_cmd("approve"), meta(ADMIN, minute=5), admins=ADMINS, void=voided
                )
            ).order
        ),
        lambda o: (
            accepted(
                arrange_pickup(o, arrange_cmd(payment_nos=("P3",)), meta(minute=6), awb="JNE-2")
            ).order
        ),
    ]


@pytest.fixture
def dsn(fresh_database: str) -> str:
    migrate(fresh_database, "pickup")
    return fresh_database


def test_every_step_of_the_flow_loads_back_as_saved(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        current: Order | None = None
        for step in _steps():
            stored = load_order(conn, TENANT, ORDER)
            assert (stored.order if stored else None) == current
            after = step(current)
            save_order(conn, stored, after, at=meta(minute=9).at)
            current = after
            assert check_invariants(conn) == []
        loaded = load_order(conn, TENANT, ORDER)
        conn.commit()
    assert loaded is not None
    assert loaded.order == current
    assert loaded.version == len(_steps())
    assert loaded.order.state is OrderState.PICKUP_REQUESTED
    assert [(b.awb, b.status.value) for b in loaded.order.airway_bills] == [
        ("JNE-1", "voided"),
        ("JNE-2", "assigned"),
    ]
    assert [r.decision for r in loaded.order.cancel_requests] == ["reject", "approve"]
    assert loaded.order.payment_nos == ("P3",)


def test_a_stale_save_is_refused_as_a_retryable_conflict(dsn: str) -> None:
    first = _steps()[0](None)
    with psycopg.connect(dsn) as conn:
        save_order(conn, None, first, at=meta().at)
        stored = load_order(conn, TENANT, ORDER)
        assert stored is not None
        pending = _steps()[1](first)
        save_order(conn, stored, pending, at=meta().at)
        # A second writer that read the same version loses and is retried by the runtime.
        with pytest.raises(psycopg.errors.SerializationFailure):
            save_order(conn, stored, pending, at=meta().at)


def test_verify_reports_a_broken_state_and_the_digest_follows_the_state(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        current: Order | None = None
        for step in _steps()[:2]:
            after = step(current)
            save_order(conn, load_order(conn, TENANT, ORDER), after, at=meta().at)
            current = after
        conn.commit()
        sound = state_digest(conn)
        conn.execute("SET TIME ZONE 'Asia/Jakarta'")
        assert state_digest(conn) == sound, "the digest must not depend on the session time zone"
        assert check_invariants(conn) == []

        # An order marked cancelled by hand, its bill still live and its request still open.
        conn.execute("UPDATE pickup.orders SET state = 'pickup_cancelled'")
        problems = check_invariants(conn)
        assert state_digest(conn) != sound
        conn.rollback()
    assert any("still has a live airway bill" in p for p in problems)
    assert any("without an open request, or an open request" in p for p in problems)
    assert all(p.endswith(f"{TENANT}/{ORDER}") for p in problems)
