"""The chaos run's workload and oracle, without infrastructure: the workload's deliberate
refusals are refused by the services' own handlers, and everything else is accepted, in any
wave order the run may send them in."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from chaos.hostile import READERS, Hostile
from chaos.oracle import Oracle
from chaos.workload import ADMINS, Workload

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _played(waves: int = 12) -> tuple[Workload, Oracle]:
    workload = Workload(7, ("t1", "t2"), prefix="u")
    oracle = Oracle(frozenset(ADMINS), frozenset(ADMINS))
    for _ in range(waves):
        # Everything sent so far is visible: the later steps go as soon as they may.
        visible = {
            need
            for need in workload.awaited()
            if (need[0] == "payment" and oracle.payments.payment(need[1], need[2]))
            or (
                need[0] == "order"
                and (order := oracle.pickups.order(need[1], need[2])) is not None
                and str(order.state) == need[3]
            )
        }
        for record in workload.wave(60, NOW, visible).records:
            assert record.envelope is not None
            oracle.apply(record.envelope, NOW)
    return workload, oracle


def test_only_the_deliberate_refusals_are_refused() -> None:
    workload, oracle = _played()
    outcomes = Counter(oracle.expected.outcomes.values())
    assert outcomes["accepted"] > 500
    assert set(outcomes) <= {"accepted", "forbidden", "over_allocation"}, outcomes
    refused = {
        env.type
        for r in workload.all_sent
        if (env := r.envelope) is not None and oracle.expected.outcomes[env.id] != "accepted"
    }
    assert refused <= {"payment.confirm", "payment.record", "pickup.cancel.decide"}


def test_approvals_send_payment_svc_its_void_and_release_and_orders_end_cancelled() -> None:
    _, oracle = _played()
    derived = Counter(env.type for env in oracle.expected.derived)
    assert derived["invoice.void"] > 0 and derived["invoice.void"] == derived["payment.release"]
    states = Counter(str(o.state) for o in oracle.pickups.orders.values())
    assert states["pickup_cancelled"] > 0 and states["pickup_requested"] > 0


def test_every_hostile_kind_is_made_for_a_topic_a_service_reads() -> None:
    workload, oracle = _played(3)
    orders = [(o.tenant_id, o.order_id) for o in oracle.pickups.orders.values()]
    hostile = Hostile(7, ("t1", "t2"))
    hostile.oversize_left = 2
    made = hostile.batch(400, NOW, workload.payments, orders)
    assert {r.topic for r in made} <= set(READERS)
    kinds = {r.hostile for r in made}
    assert {"lone_surrogate", "nul", "deep_nesting", "other_tenants_ids", "forged_admin"} <= kinds
    for record in made:
        if record.envelope is not None:  # rule breakers: refused, and change nothing
            assert oracle.apply(record.envelope, NOW) in ("forbidden", "not_found")


def test_every_hostile_record_without_an_envelope_is_refused_by_the_codec() -> None:
    """What the run expects a dead letter for must really be undecodable (a misrouted type is
    decodable: the runtime refuses it for its topic)."""
    import schemas

    workload, oracle = _played(2)
    orders = [(o.tenant_id, o.order_id) for o in oracle.pickups.orders.values()]
    hostile = Hostile(11, ("t1", "t2"))
    hostile.oversize_left = 2
    for record in hostile.batch(1500, NOW, workload.payments, orders):
        if record.envelope is not None or record.hostile == "misrouted":
            continue
        try:
            schemas.decode(record.value, [("content-type", b"application/cloudevents+json")])
        except Exception:  # any refusal is what the run expects
            continue
        raise AssertionError(f"{record.hostile} decodes: {record.value[:200]!r}")
