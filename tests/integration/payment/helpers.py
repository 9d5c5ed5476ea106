"""Payment commands, publishing and database reads shared by the payment_svc integration tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from confluent_kafka import Producer

from schemas import CONTENT_TYPE_HEADER, Envelope, encode, kafka_key, topics
from services.common.settings import Settings
from services.common.topics import ensure_topics
from services.payment_svc.adapters.queries import invoice_view, payment_view
from services.payment_svc.adapters.verify import check_invariants, state_digest
from tests.integration.pickup.helpers import Watcher
from tests.integration.runtime.helpers import produce, wait_for

TENANT = "dist-test-01"
ADMIN = "admin:ani"
CUSTOMER = "CUST-7"


def command(
    type_: str,
    subject: str,
    data: dict[str, Any],
    *,
    tenant: str = TENANT,
    actor: str = ADMIN,
    msg_id: str | None = None,
    source: str = "/backoffice",
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": msg_id or f"cmd-{uuid.uuid4()}",
        "type": type_,
        "source": source,
        "time": "2026-11-22T10:00:00+07:00",
        "subject": subject,
        "tenantid": tenant,
        "actor": actor,
        "data": data,
    }


def now(message: dict[str, Any]) -> dict[str, Any]:
    """The command as an upstream sends it today: one older than the await timeout is decided
    at once, so a command racing ahead of what it names would be refused instead of waiting."""
    return {**message, "time": datetime.now(UTC).isoformat()}


def issue(invoice_no: str, amount: str, **kw: Any) -> dict[str, Any]:
    customer = kw.pop("customer", CUSTOMER)
    data = {
        "invoice_no": invoice_no,
        "customer_id": customer,
        "amount": amount,
        "issue_date": "2026-11-01",
    }
    if "order_id" in kw:
        data["order_id"] = kw.pop("order_id")
    return command("invoice.issue", invoice_no, data, actor="system:billing", **kw)


def record(
    payment_no: str,
    amount: str,
    allocations: Iterable[tuple[str, str]] = (),
    *,
    method: str = "transfer",
    **kw: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "payment_no": payment_no,
        "customer_id": kw.pop("customer", CUSTOMER),
        "method": method,
        "amount": amount,
        "payment_date": "2026-11-20",
        "allocations": [{"invoice_no": i, "amount": a} for i, a in allocations],
    }
    if method in ("giro", "cheque"):
        data["giro"] = {"number": f"BG-{payment_no}", "bank": "BRI", "due_date": "2026-11-21"}
    return command("payment.record", payment_no, data, **kw)


def allocate(payment_no: str, allocations: Iterable[tuple[str, str]], **kw: Any) -> dict[str, Any]:
    data = {
        "payment_no": payment_no,
        "allocations": [{"invoice_no": i, "amount": a} for i, a in allocations],
    }
    return command("payment.allocate", payment_no, data, **kw)


def release(
    payment_no: str, invoice_no: str, *, order_id: str | None = None, **kw: Any
) -> dict[str, Any]:
    """As pickup_svc sends it for a cancelled order, or (no order) as a payment admin does."""
    data = {"payment_no": payment_no, "invoice_no": invoice_no, "reason": "pickup cancelled"}
    return command(
        "payment.release", payment_no, _for_order(data, order_id), **_sender(order_id, kw)
    )


def void(invoice_no: str, *, order_id: str | None = None, **kw: Any) -> dict[str, Any]:
    """As pickup_svc sends it for a cancelled order, or (no order) as a payment admin does."""
    data = {"invoice_no": invoice_no, "reason": "pickup cancelled"}
    data = _for_order(data, order_id)
    return command("invoice.void", invoice_no, data, **_sender(order_id, kw))


def _for_order(data: dict[str, Any], order_id: str | None) -> dict[str, Any]:
    return data if order_id is None else {**data, "order_id": order_id}


def _sender(order_id: str | None, kw: dict[str, Any]) -> dict[str, Any]:
    return {"actor": "system:pickup", **kw} if order_id is not None else kw


def simple(type_: str, payment_no: str, **data: Any) -> dict[str, Any]:
    """confirm / resolve / cancel: the payment number plus ``data``."""
    return command(type_, payment_no, {"payment_no": payment_no, **data})


def send(settings: Settings, *messages: dict[str, Any]) -> None:
    assert settings.kafka_bootstrap_servers
    produce(settings.kafka_bootstrap_servers, topics.PAYMENT_COMMANDS, list(messages))


def send_envelopes(settings: Settings, envelopes: Iterable[Envelope]) -> None:
    """Publish decoded example messages as an upstream would: canonical bytes, contract key."""
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers})
    for env in envelopes:
        producer.produce(
            topics.PAYMENT_COMMANDS,
            value=encode(env),
            key=kafka_key(env),
            headers=[CONTENT_TYPE_HEADER],
        )
    assert producer.flush(30) == 0


def play(settings: Settings, envelopes: Iterable[Envelope]) -> None:
    """Publish commands one at a time, each once the previous one is settled.

    Commands about different aggregates travel on different partitions, so an upstream that
    needs one applied before the next (invoice before its payment) waits for the outcome.
    """
    dsn = settings.database_dsn()
    for env in envelopes:
        before = settled_count(dsn) if _migrated(dsn) else 0
        send_envelopes(settings, [env])
        wait_settled(dsn, before + 1)


def send_in_turn(settings: Settings, *messages: dict[str, Any]) -> None:
    """Like ``play`` for command dicts: each is settled before the next is sent."""
    dsn = settings.database_dsn()
    for message in messages:
        before = settled_count(dsn) if _migrated(dsn) else 0
        send(settings, message)
        wait_settled(dsn, before + 1)


def _migrated(dsn: str) -> bool:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT to_regclass('payment.inbox')").fetchone()
    return row is not None and row[0] is not None


@contextmanager
def watching(settings: Settings) -> Iterator[Watcher]:
    """A reader of ``payment.events`` from its start (topics created first)."""
    assert settings.kafka_bootstrap_servers
    ensure_topics(settings.kafka_config(), settings.topic_partitions)
    watcher = Watcher(
        settings.kafka_bootstrap_servers, [topics.PAYMENT_EVENTS], settings.topic_partitions
    )
    try:
        yield watcher
    finally:
        watcher.close()


def settled_count(dsn: str) -> int:
    """Commands the service has finished with (applied, rejected or dead-lettered)."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM payment.inbox WHERE outcome <> 'pending'"
        ).fetchone()
    return int(row[0]) if row else 0


def wait_settled(dsn: str, count: int, timeout: float = 90) -> None:
    def done() -> bool:
        try:
            return settled_count(dsn) >= count
        except psycopg.errors.UndefinedTable:
            return False  # not migrated yet

    wait_for(done, timeout=timeout, what=f"{count} commands settled")


def outcomes(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT outcome, count(*) FROM payment.inbox GROUP BY 1").fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def payment(dsn: str, payment_no: str, tenant: str = TENANT) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        found = payment_view(conn, tenant, payment_no)
    assert found is not None, f"payment {payment_no} of {tenant} not found"
    return found


def invoice(dsn: str, invoice_no: str, tenant: str = TENANT) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        found = invoice_view(conn, tenant, invoice_no)
    assert found is not None, f"invoice {invoice_no} of {tenant} not found"
    return found


def violations(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return check_invariants(conn)


def digest(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        return state_digest(conn)
