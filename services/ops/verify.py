"""``lunas verify``: the services' invariants, the runtime's own, and a digest of the state.

Everything is read in one repeatable-read, read-only transaction, so the checks and the digest
describe one snapshot even while the services run.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import psycopg
from confluent_kafka import KafkaException
from psycopg import IsolationLevel, sql

from services.common.runtime.store import InboxKey
from services.common.settings import Settings
from services.common.topics import check_topics

SERVICE_CHECKS: dict[str, str] = {
    "payment": "services.payment_svc.adapters.verify",
    "pickup": "services.pickup_svc.adapters.verify",
}
STALE_OUTBOX_MINUTES = 5


@dataclass
class VerifyReport:
    violations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    digests: dict[str, str | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def digest(self) -> str:
        return combined_digest(self.digests)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "violations": self.violations,
            "warnings": self.warnings,
            "digests": self.digests,
            "digest": self.digest,
        }


def combined_digest(digests: Mapping[str, str | None]) -> str:
    """One digest of every schema's digest: equal states give equal digests, in any order."""
    lines = [f"{schema}={digests[schema] or '-'}" for schema in sorted(digests)]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@dataclass(frozen=True)
class ServiceChecks:
    check_invariants: Callable[[psycopg.Connection[Any]], list[str]]
    state_digest: Callable[[psycopg.Connection[Any]], str]


def load_checks(module_name: str) -> ServiceChecks | None:
    """The service's ``check_invariants`` and ``state_digest``; None if it has none (yet)."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only the module itself missing is "no checks"; a broken import inside it is a bug.
        if exc.name is None or not module_name.startswith(exc.name):
            raise
        return None
    return ServiceChecks(module.check_invariants, module.state_digest)


def runtime_checks(conn: psycopg.Connection[Any], schema: str, report: VerifyReport) -> None:
    """What the runtime promises: every inbox row settled; the relay keeps the outbox moving."""
    ident = sql.Identifier(schema)
    pending = conn.execute(
        sql.SQL("SELECT count(*) FROM {}.inbox WHERE outcome = 'pending'").format(ident)
    ).fetchone()
    if pending and pending[0]:
        report.violations.append(
            f"{schema}: {pending[0]} inbox row(s) committed without an outcome ('pending')"
        )
    _waiting_checks(conn, ident, schema, report)
    parked = conn.execute(
        sql.SQL(
            "SELECT count(*), min(seq) FROM {}.outbox WHERE sent_at IS NULL"
            " AND parked_at IS NOT NULL"
        ).format(ident)
    ).fetchone()
    if parked and parked[0]:
        # What the broker refused for good never reached the services that wait for it.
        report.violations.append(
            f"{schema}: {parked[0]} outbox row(s) parked, never published (first seq "
            f"{parked[1]}); see `lunas outbox list --service {schema} --state parked`, fix the "
            "cause, then `lunas outbox retry`"
        )
    stale = conn.execute(
        sql.SQL(
            "SELECT count(*), min(created_at) FROM {}.outbox WHERE sent_at IS NULL"
            " AND parked_at IS NULL AND created_at < now() - make_interval(mins => %s)"
        ).format(ident),
        (STALE_OUTBOX_MINUTES,),
    ).fetchone()
    if stale and stale[0]:
        report.warnings.append(
            f"{schema}: {stale[0]} outbox row(s) unsent for over {STALE_OUTBOX_MINUTES} minutes "
            f"(oldest from {stale[1].isoformat()}); is the service's relay running?"
        )


def _waiting_checks(
    conn: psycopg.Connection[Any], ident: sql.Identifier, schema: str, report: VerifyReport
) -> None:
    """A waiting command has its inbox row (outcome 'waiting') and the other way round; one
    past its deadline by more than a minute means the service's sweeper is not running."""
    same_row = _same_inbox_key("w", "i")
    orphans = _count(
        conn,
        sql.SQL(
            "SELECT count(*) FROM {s}.waiting w LEFT JOIN {s}.inbox i ON {same}"
            " WHERE i.outcome IS DISTINCT FROM 'waiting'"
        ).format(s=ident, same=same_row),
    )
    if orphans:
        report.violations.append(
            f"{schema}: {orphans} waiting command(s) whose inbox row is not 'waiting'"
        )
    lost = _count(
        conn,
        sql.SQL(
            "SELECT count(*) FROM {s}.inbox i WHERE i.outcome = 'waiting' AND NOT EXISTS ("
            " SELECT 1 FROM {s}.waiting w WHERE {same})"
        ).format(s=ident, same=same_row),
    )
    if lost:
        report.violations.append(
            f"{schema}: {lost} inbox row(s) 'waiting' with no waiting command to apply"
        )
    overdue = conn.execute(
        sql.SQL(
            "SELECT count(*) FROM {}.waiting WHERE deadline < now() - interval '1 minute'"
        ).format(ident)
    ).fetchone()
    if overdue and overdue[0]:
        report.warnings.append(
            f"{schema}: {overdue[0]} waiting command(s) past their deadline;"
            " is the service running?"
        )


def _same_inbox_key(a: str, b: str) -> sql.Composed:
    """Rows ``a`` and ``b`` have the same inbox key (the columns of ``InboxKey``)."""
    return sql.SQL(" AND ").join(
        sql.SQL("{a}.{c} = {b}.{c}").format(
            a=sql.Identifier(a), b=sql.Identifier(b), c=sql.Identifier(f.name)
        )
        for f in fields(InboxKey)
    )


def _count(conn: psycopg.Connection[Any], query: sql.Composed) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def topic_checks(settings: Settings, report: VerifyReport) -> None:
    """Topics missing, with fewer partitions or a shorter retention than configured, as
    warnings naming the topic and the fix: none of them breaks an invariant, but a short
    retention limits how far a replay or a feed rebuild reaches (docs/KAFKA.md, "Topics")."""
    try:
        problems = check_topics(settings)
    except (RuntimeError, KafkaException) as exc:
        report.warnings.append(f"topics not checked: {exc}")
        return
    report.warnings += [f"topic {p.line()}" for p in problems]


def verify(dsn: str, checks: Mapping[str, str] = SERVICE_CHECKS) -> VerifyReport:
    report = VerifyReport()
    with psycopg.connect(dsn) as conn:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            for schema, module_name in checks.items():
                _verify_schema(conn, schema, module_name, report)
    return report


def _verify_schema(
    conn: psycopg.Connection[Any], schema: str, module_name: str, report: VerifyReport
) -> None:
    present = conn.execute("SELECT to_regclass(%s)", (f"{schema}.inbox",)).fetchone()
    if present is None or present[0] is None:
        report.violations.append(f"{schema}: schema is not migrated (run `lunas migrate`)")
        report.digests[schema] = None
        return
    runtime_checks(conn, schema, report)
    service = load_checks(module_name)
    if service is None:
        report.warnings.append(
            f"{schema}: the service's invariant checks ({module_name}) are not installed; "
            "only the runtime's were checked"
        )
        report.digests[schema] = None
        return
    report.violations += [f"{schema}: {v}" for v in service.check_invariants(conn)]
    report.digests[schema] = service.state_digest(conn)
