"""A service with no business of its own, to test the runtime: it records each invoice.issue.

Runs in-thread (``toy_spec``) or as a process (``python -m tests.integration.runtime.toy_service``,
configured by the ``LUNAS_*`` environment) so tests can kill it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from schemas import Envelope, topics
from services.common.logging import configure_logging
from services.common.runtime import (
    Accepted,
    MessageContext,
    Outcome,
    Rejected,
    ServiceSpec,
    ServiceWiring,
)
from services.common.runtime.seam import Ref
from services.common.runtime.service import run_service
from services.common.settings import Settings

EFFECTS_DDL = (
    "CREATE TABLE IF NOT EXISTS public.toy_effects ("
    " message_id text NOT NULL, invoice_no text NOT NULL, applied_at timestamptz DEFAULT now())"
)


class ToyUnitOfWork:
    """Stages one effect row per applied message; ``flush`` writes them in one statement."""

    def __init__(self, conn: psycopg.Connection[Any], now: datetime) -> None:
        self._conn = conn
        self._rows: list[tuple[str, str]] = []

    def prepare(self, messages: Sequence[Envelope]) -> None:
        pass

    def load(self, messages: Sequence[Envelope]) -> None:
        pass

    def mark(self) -> object:
        return len(self._rows)

    def undo(self, mark: object) -> None:
        assert isinstance(mark, int)
        del self._rows[mark:]

    def stage(self, message_id: str, invoice_no: str) -> None:
        self._rows.append((message_id, invoice_no))

    def exists(self, ref: Ref) -> bool:
        return False

    def flush(self) -> None:
        if self._rows:
            self._conn.execute(
                "INSERT INTO public.toy_effects (message_id, invoice_no)"
                " SELECT * FROM unnest(%s::text[], %s::text[])",
                ([m for m, _ in self._rows], [i for _, i in self._rows]),
            )


def handle_issue(msg: Envelope, *, uow: ToyUnitOfWork, ctx: MessageContext) -> Outcome:
    data: Any = msg.data
    if data.amount == data.amount.__class__("13.13"):
        return Rejected("invalid", f"invoice {data.invoice_no}: 13.13 is an unlucky amount")
    uow.stage(msg.id, data.invoice_no)
    if data.customer_id == "BOOM":
        raise RuntimeError("a handler bug, after staging: its row must not be written")
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


def toy_spec() -> ServiceWiring[ToyUnitOfWork]:
    return ServiceWiring(
        spec=ServiceSpec(
            name="toy",
            reads=(topics.PAYMENT_COMMANDS,),
            writes=(topics.PAYMENT_EVENTS,),
            schema="toy",
            rejections_topic=topics.PAYMENT_EVENTS,
        ),
        handlers={"invoice.issue": handle_issue},
        unit_of_work=ToyUnitOfWork,
    )


def prepare(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(EFFECTS_DDL)


if __name__ == "__main__":
    settings = Settings()
    configure_logging(settings.log_level, "json")
    prepare(settings.database_dsn())
    run_service(toy_spec(), settings)
