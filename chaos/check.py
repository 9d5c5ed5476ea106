"""After the run: everything drained, then the services' state and topics against the oracle.

- lost: a legitimate command with no settled inbox row, or dead-lettered; an event the oracle
  expects missing from its topic; state that differs from the oracle's;
- duplicated: an effect recorded twice (a history row twice for one command), an event id the
  oracle does not expect;
- cross-tenant: a history row of one tenant written by another tenant's command;
- hostile: every hostile record dead-lettered by each service that reads its topic, or (for
  rule-breaking commands) answered with ``command.rejected``, and changing nothing;
- logs: no customer name (PII marker) and no secret in any service's log line.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, LiteralString

import psycopg

from chaos.drive import Produced, Sender, readers_of
from chaos.stack import GROUPS, SECRET_MARK, System
from schemas import topics
from services.ops import kafka_io
from services.ops.status import SCHEMAS
from services.ops.verify import verify

PII_MARK = "PIIMARK"


@dataclass
class Findings:
    drained_s: float | None = None
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    cross_tenant: list[str] = field(default_factory=list)
    state_diffs: list[str] = field(default_factory=list)
    hostile_total: int = 0
    hostile_accounted: Counter[str] = field(default_factory=Counter)
    hostile_unaccounted: list[str] = field(default_factory=list)
    hostile_by_kind: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    log_leaks: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.drained_s is not None and not (
            self.lost
            or self.duplicated
            or self.cross_tenant
            or self.state_diffs
            or self.hostile_unaccounted
            or self.violations
            or self.log_leaks
        )


def drain(system: System, timeout_s: float) -> float | None:
    """Seconds until every group consumed everything and nothing is left to publish or waits."""
    started = time.monotonic()
    settled = 0
    while time.monotonic() - started < timeout_s:
        system.revive()
        if _idle(system):
            settled += 1
            if settled >= 3:  # three looks in a row, a second apart
                return time.monotonic() - started
        else:
            settled = 0
        time.sleep(1.0)
    return None


def _idle(system: System) -> bool:
    with psycopg.connect(system.stack.dsn, autocommit=True) as conn:
        for schema in SCHEMAS:
            row = conn.execute(
                f"SELECT (SELECT count(*) FROM {schema}.outbox WHERE sent_at IS NULL),"
                f" (SELECT count(*) FROM {schema}.waiting)"
            ).fetchone()
            if row is None or row[0] or row[1]:
                return False
    settings = system.stack.settings
    adm, reader = kafka_io.admin(settings), kafka_io.reader(settings)
    try:
        for group, wanted in GROUPS.items():
            tps = [(t, p) for t in wanted for p in kafka_io.topic_partitions(adm, t)]
            highs = kafka_io.watermarks(reader, tps)
            committed = kafka_io.committed_offsets(adm, group, tps)
            if any((committed.get(tp) or 0) < highs[tp][1] for tp in tps):
                return False
    finally:
        reader.close()
    return True


def examine(system: System, sender: Sender) -> Findings:
    found = Findings()
    expected = sender.oracle.expected
    settings = system.stack.settings
    reader = kafka_io.reader(settings)
    adm = kafka_io.admin(settings)
    try:
        on_topics = {t: _read(reader, adm, t) for t in _topics_to_read(adm)}
    finally:
        reader.close()
    derived = {e.id for e in expected.derived}
    _check_events(found, expected.event_ids, expected.order_dependent, derived, on_topics)
    letters = _letters(on_topics)
    rejected = _rejections(on_topics)
    _check_hostile(found, sender.produced, letters, rejected)
    legit_ids = {r.envelope.id for r in sender.workload.all_sent if r.envelope is not None}
    legit_ids |= {e.id for e in expected.derived}
    with psycopg.connect(system.stack.dsn, autocommit=True) as conn:
        _check_inbox(found, conn, legit_ids, expected.outcomes)
        _check_state(found, conn, sender)
        _check_history(found, conn, sender)
    if sender.never_sent:
        found.lost.append(
            f"{sender.never_sent} cancellation commands never sent: the payments of their orders"
            " were never recorded"
        )
    dead_legit = [key for key, (_, mid) in letters.items() if mid in legit_ids]
    found.lost += [f"dead-lettered legitimate message {k}" for k in dead_legit]
    report = verify(system.stack.dsn)
    found.violations = report.violations
    found.log_leaks = _log_leaks(system)
    found.counts = {
        "legitimate commands sent (with duplicates)": sender.produced.legit,
        "unique legitimate commands": len(
            {r.envelope.id for r in sender.workload.all_sent if r.envelope}
        ),
        "commands pickup_svc sent to payment_svc": len(expected.derived),
        "events expected": sum(len(v) for v in expected.event_ids.values()),
        "dead letters": len(letters),
        "rejections": len(rejected),
    }
    return found


# --- topics -----------------------------------------------------------------------------------


def _topics_to_read(adm: Any) -> list[str]:
    names = set(kafka_io.existing_topics(adm))
    wanted = {topics.PAYMENT_EVENTS, topics.PICKUP_EVENTS, topics.PICKUP_CANCEL_DECIDED}
    return sorted(wanted | {n for n in names if n.endswith(".dlq")})


def _read(reader: Any, adm: Any, topic: str) -> list[Any]:
    starts = {(topic, p): 0 for p in kafka_io.topic_partitions(adm, topic)}
    return list(kafka_io.read_records(reader, starts))


def _check_events(
    found: Findings,
    expected: dict[str, set[str]],
    order_dependent: set[str],
    derived: set[str],
    on: dict[str, list[Any]],
) -> None:
    """Every event the oracle expects is on its topic, and no other; events of pickup's void and
    release commands are compared through the state instead (which one reports a release
    depends on the order the two are consumed in)."""
    for topic, ids in sorted(expected.items()):
        records = on.get(topic, [])
        # Whether a command parked (`command.waiting`) depends on arrival order, not on what it
        # must do: those messages are not outcomes and are left out.
        seen = Counter(
            _id_of(r) for r in records if _cause_of(r) not in derived and not _waiting(r)
        )
        wanted = ids - order_dependent
        missing = wanted - set(seen)
        # Hostile bytes put on the topic are accounted for as dead letters, not as events.
        extra = {i for i in seen if i not in ids and not i.startswith(("hostile", "<"))}
        found.lost += [f"{topic}: expected event {i} never published" for i in sorted(missing)[:50]]
        found.duplicated += [f"{topic}: unexpected event {i}" for i in sorted(extra)[:50]]
        found.counts[f"events on {topic} (distinct ids)"] = len(seen)


def _id_of(record: Any) -> str:
    try:
        return str(json.loads(record.value)["id"])
    except (ValueError, KeyError, TypeError, RecursionError):
        return "<unreadable>"


def _waiting(record: Any) -> bool:
    try:
        return bool(json.loads(record.value).get("type") == "command.waiting")
    except (ValueError, AttributeError, RecursionError):
        return False


def _cause_of(record: Any) -> str:
    try:
        return str(json.loads(record.value).get("causationid", ""))
    except (ValueError, AttributeError, RecursionError):
        return ""


def _letters(on: dict[str, list[Any]]) -> dict[tuple[str, str, int, int], tuple[str, str]]:
    """(service, original topic, partition, offset) -> (error, message id or "")."""
    out = {}
    for topic, records in on.items():
        if not topic.endswith(".dlq"):
            continue
        for r in records:
            h = {k: (v or b"").decode("utf-8", "replace") for k, v in r.headers}
            key = (
                h.get("lunas.service", "?"),
                h.get("lunas.original.topic", topic[: -len(".dlq")]),
                int(h.get("lunas.original.partition", "-1")),
                int(h.get("lunas.original.offset", "-1")),
            )
            out[key] = (h.get("lunas.error", "?"), _original_id(r.value))
    return out


def _original_id(value: bytes | None) -> str:
    match = re.search(rb'"id"\s*:\s*"([^"]{1,80})"', value or b"")
    return match.group(1).decode("utf-8", "replace") if match else ""


def _rejections(on: dict[str, list[Any]]) -> dict[str, str]:
    """command id -> rejection code, from every ``command.rejected`` on the event topics."""
    out = {}
    for topic in (topics.PAYMENT_EVENTS, topics.PICKUP_EVENTS):
        for r in on.get(topic, []):
            try:
                event = json.loads(r.value)
            except (ValueError, RecursionError):
                continue
            if isinstance(event, dict) and event.get("type") == "command.rejected":
                data = event.get("data") or {}
                out[str(data.get("command_id"))] = str(data.get("code"))
    return out


def _check_hostile(
    found: Findings,
    produced: Produced,
    letters: dict[tuple[str, str, int, int], tuple[str, str]],
    rejected: dict[str, str],
) -> None:
    for record, topic, partition, offset in produced.hostile:
        found.hostile_total += 1
        found.hostile_by_kind[record.hostile] += 1
        env = record.envelope
        if env is not None:
            if env.id in rejected:
                found.hostile_accounted[f"rejected:{rejected[env.id]}"] += 1
            else:
                found.hostile_unaccounted.append(f"{record.hostile} {env.id}: no command.rejected")
            continue
        for service in readers_of(topic):
            letter = letters.get((service, topic, partition, offset))
            if letter is None:
                found.hostile_unaccounted.append(
                    f"{record.hostile} at {topic}/{partition}@{offset}: no dead letter from"
                    f" {service}"
                )
            else:
                found.hostile_accounted[f"dlq:{letter[0]}"] += 1


# --- database ---------------------------------------------------------------------------------


def _check_inbox(
    found: Findings, conn: psycopg.Connection[Any], legit: set[str], outcomes: dict[str, str]
) -> None:
    rows = conn.execute(
        "SELECT message_id, outcome FROM payment.inbox UNION ALL"
        " SELECT message_id, outcome FROM pickup.inbox"
    ).fetchall()
    by_id: dict[str, list[str]] = {}
    for mid, outcome in rows:
        by_id.setdefault(mid, []).append(outcome)
    for mid in sorted(legit):
        got = by_id.get(mid, [])
        want = outcomes.get(mid)
        if not got:
            found.lost.append(f"command {mid}: no inbox row (never applied)")
        elif len(got) > 1:
            found.duplicated.append(f"command {mid}: {len(got)} inbox rows")
        elif want is not None and got[0] != (
            "applied" if want == "accepted" else f"rejected:{want}"
        ):
            found.state_diffs.append(f"command {mid}: outcome {got[0]}, oracle says {want}")


def _inbox_outcome(oracle_outcome: str) -> str:
    return "applied" if oracle_outcome == "accepted" else f"rejected:{oracle_outcome}"


def _check_state(found: Findings, conn: psycopg.Connection[Any], sender: Sender) -> None:
    want_pay = sender.oracle.payment_state()
    have_pay = _payment_state(conn)
    want_pick, have_pick = sender.oracle.pickup_state(), _pickup_state(conn)
    for name, want, have in (
        ("payment", want_pay["payments"], have_pay["payments"]),
        ("invoice", want_pay["invoices"], have_pay["invoices"]),
        ("order", want_pick, have_pick),
    ):
        for key in sorted(set(want) | set(have)):
            if want.get(key) != have.get(key):
                found.state_diffs.append(f"{name} {key}: {have.get(key)} (oracle {want.get(key)})")
        found.counts[f"{name}s compared"] = len(want)


def _payment_state(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    allocations: dict[str, dict[str, str]] = {}
    for t, p, i, amount in conn.execute(
        "SELECT tenant_id, payment_no, invoice_no, amount FROM payment.allocations"
    ):
        allocations.setdefault(f"{t}/{p}", {})[i] = f"{amount:.2f}"
    payments = {
        f"{t}/{no}": {
            "status": status,
            "amount": f"{amount:.2f}",
            "allocations": allocations.get(f"{t}/{no}", {}),
        }
        for t, no, status, amount in conn.execute(
            "SELECT tenant_id, payment_no, status, amount FROM payment.payments"
        )
    }
    invoices = {
        f"{t}/{no}": {"allocated": f"{a:.2f}", "settled": f"{s:.2f}", "voided": v}
        for t, no, a, s, v in conn.execute(
            "SELECT tenant_id, invoice_no, allocated, settled, voided FROM payment.invoices"
        )
    }
    return {"payments": payments, "invoices": invoices}


def _pickup_state(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    bills: dict[str, list[str]] = {}
    for t, o, status in conn.execute(
        "SELECT tenant_id, order_id, status FROM pickup.airway_bills ORDER BY seq"
    ):
        bills.setdefault(f"{t}/{o}", []).append(status)
    requests: dict[str, list[str]] = {}
    for t, o, decision in conn.execute(
        "SELECT tenant_id, order_id, decision FROM pickup.cancel_requests ORDER BY requested_at"
    ):
        requests.setdefault(f"{t}/{o}", []).append(decision or "open")
    return {
        f"{t}/{o}": {
            "state": state,
            "bills": bills.get(f"{t}/{o}", []),
            "requests": requests.get(f"{t}/{o}", []),
        }
        for t, o, state in conn.execute("SELECT tenant_id, order_id, state FROM pickup.orders")
    }


def _check_history(found: Findings, conn: psycopg.Connection[Any], sender: Sender) -> None:
    tenant_of = {r.envelope.id: r.envelope.tenantid for r in sender.workload.all_sent if r.envelope}
    tenant_of |= {e.id: e.tenantid for e in sender.oracle.expected.derived}
    tenant_of |= {
        r.envelope.id: r.envelope.tenantid for r, *_ in sender.produced.hostile if r.envelope
    }
    rows = _recorded_once(
        found,
        conn,
        "SELECT tenant_id, command_id, entity, entity_id, to_status FROM payment.status_history",
        "status change",
    )
    allocations = _recorded_once(
        found,
        conn,
        "SELECT tenant_id, command_id, payment_no, invoice_no, kind"
        " FROM payment.allocation_history",
        "allocation change",
    )
    for row in [*rows, *allocations]:
        tenant, command = row[0], row[1]
        if command in tenant_of and tenant_of[command] != tenant:
            found.cross_tenant.append(
                f"{tenant} row {row[2:]} written by {command} of {tenant_of[command]}"
            )
    found.counts["status changes"] = len(rows)
    found.counts["allocation changes"] = len(allocations)


def _recorded_once(
    found: Findings, conn: psycopg.Connection[Any], query: LiteralString, what: str
) -> list[tuple[Any, ...]]:
    """The rows of ``query``; a row found more than once is a change recorded twice."""
    rows: list[tuple[Any, ...]] = conn.execute(query).fetchall()
    for key, n in Counter(rows).items():
        if n > 1:
            found.duplicated.append(f"{what} {key} recorded {n} times")
    return rows


# --- logs -------------------------------------------------------------------------------------


def _log_leaks(system: System) -> list[str]:
    leaks = []
    for path in sorted(system.log_dir.glob("*.log")):
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for mark, what in ((PII_MARK, "a customer name"), (SECRET_MARK, "the feed secret")):
                if mark in line:
                    leaks.append(f"{path.name}:{n}: {what} in a log line")
    return leaks[:100]
