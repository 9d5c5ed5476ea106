"""A service with no business of its own, to test the runtime: it records each invoice.issue.

Runs in-thread (``toy_spec``) or as a process (``python -m tests.integration.runtime.toy_service``,
configured by the ``LUNAS_*`` environment) so tests can kill it.
"""

from __future__ import annotations

from typing import Any

import psycopg

from schemas import Envelope, topics
from services.common.logging import configure_logging
from services.common.runtime import Accepted, HandlerContext, Outcome, Rejected, ServiceSpec
from services.common.runtime.service import run_service
from services.common.settings import Settings

EFFECTS_DDL = (
    "CREATE TABLE IF NOT EXISTS public.toy_effects ("
    " message_id text NOT NULL, invoice_no text NOT NULL, applied_at timestamptz DEFAULT now())"
)


def handle_issue(msg: Envelope, ctx: HandlerContext) -> Outcome:
    data: Any = msg.data
    if data.amount == data.amount.__class__("13.13"):
        return Rejected("invalid", f"invoice {data.invoice_no}: 13.13 is an unlucky amount")
    if data.customer_id == "BOOM":
        raise RuntimeError("a handler bug")
    ctx.conn.execute(
        "INSERT INTO public.toy_effects (message_id, invoice_no) VALUES (%s, %s)",
        (msg.id, data.invoice_no),
    )
    event = ctx.event(
        topics.PAYMENT_EVENTS,
        "invoice.issued",
        {
            "invoice_no": data.invoice_no,
            "customer_id": data.customer_id,
            "amount": data.amount,
            "outstanding": data.amount,
            "status": "unpaid",
            "issue_date": data.issue_date,
        },
    )
    return Accepted((event,))


def toy_spec() -> ServiceSpec:
    return ServiceSpec(
        name="toy",
        schema="toy",
        topics=[topics.PAYMENT_COMMANDS],
        rejections_topic=topics.PAYMENT_EVENTS,
        handlers={"invoice.issue": handle_issue},
    )


def prepare(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(EFFECTS_DDL)


if __name__ == "__main__":
    settings = Settings()
    configure_logging(settings.log_level, "json")
    prepare(settings.database_dsn())
    run_service(toy_spec(), settings)
