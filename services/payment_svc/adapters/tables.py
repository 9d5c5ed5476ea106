"""payment_svc's tables as its adapters write them: each column named once, with its SQL type and
where its value comes from. The SELECT lists (``rows``) and the batch's statements (``writes``)
are derived from these, so a column added to a table is added here and in its migration.

Every statement takes its rows as one JSON parameter (``json_to_recordset``; see
``services/common/runtime/store.py`` for why not parameter arrays).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, LiteralString

from services.payment_svc.domain.model import Payment


@dataclass(frozen=True)
class Column:
    name: LiteralString
    sql_type: LiteralString
    value: Callable[[Any], Any]


def _col(
    name: LiteralString, sql_type: LiteralString, value: Callable[[Any], Any] | None = None
) -> Column:
    return Column(name, sql_type, value if value is not None else attrgetter(name))


@dataclass(frozen=True)
class Table:
    """A table, the columns its key is made of, and the columns lists and statements of it."""

    name: LiteralString
    key: tuple[LiteralString, ...]
    columns: tuple[Column, ...]

    @property
    def select_list(self) -> LiteralString:
        return ", ".join(c.name for c in self.columns)

    def _recordset(self, columns: Iterable[Column]) -> LiteralString:
        return (
            "json_to_recordset(%s::json) AS u("
            + ", ".join(c.name + " " + c.sql_type for c in columns)
            + ")"
        )

    def insert(self, *, stamped: bool = False, ordered: bool = False) -> LiteralString:
        """Insert the rows of the JSON parameter; ``stamped``: ``created_at`` and ``updated_at``
        from two parameters before it; ``ordered``: in the order of the JSON array (the
        histories' ids follow the order the decisions made them in)."""
        names = self.select_list
        into = names + (", created_at, updated_at" if stamped else "")
        values = names + (", %s, %s" if stamped else "")
        source = self._recordset(self.columns)
        if ordered:
            typed = ", ".join(c.name + " " + c.sql_type for c in self.columns)
            source = (
                "ROWS FROM (json_to_recordset(%s::json) AS (" + typed + "))"
                " WITH ORDINALITY AS u(" + names + ", ord)"
            )
        return (
            "INSERT INTO "
            + self.name
            + " ("
            + into
            + ") SELECT "
            + values
            + " FROM "
            + source
            + (" ORDER BY ord" if ordered else "")
        )

    def update(self, changed: tuple[LiteralString, ...]) -> LiteralString:
        """Set ``changed`` and ``updated_at`` (the parameter before the JSON) on the rows whose
        key the JSON rows name."""
        wanted = (*self.key, *changed)
        columns = [c for c in self.columns if c.name in wanted]
        sets = ", ".join(n + " = u." + n for n in changed)
        match = " AND ".join("x." + k + " = u." + k for k in self.key)
        return (
            "UPDATE "
            + self.name
            + " x SET "
            + sets
            + ", updated_at = %s FROM "
            + self._recordset(columns)
            + " WHERE "
            + match
        )

    def rows(
        self, items: Iterable[Any], only: tuple[LiteralString, ...] = ()
    ) -> list[dict[str, Any]]:
        """The JSON rows of ``items`` (all columns, or the key and ``only``)."""
        columns = [
            (c.name, c.value)
            for c in self.columns
            if not only or c.name in self.key or c.name in only
        ]
        return [{name: value(item) for name, value in columns} for item in items]


def _giro(part: str) -> Callable[[Payment], Any]:
    def value(p: Payment) -> Any:
        return getattr(p.giro, part) if p.giro is not None else None

    return value


INVOICES = Table(
    "payment.invoices",
    ("tenant_id", "invoice_no"),
    (
        _col("tenant_id", "text"),
        _col("invoice_no", "text"),
        _col("customer_id", "text"),
        _col("amount", "numeric"),
        _col("currency", "text"),
        _col("issue_date", "date"),
        _col("due_date", "date"),
        _col("order_id", "text"),
        _col("allocated", "numeric"),
        _col("settled", "numeric"),
        _col("voided", "bool"),
        _col("voided_at", "timestamptz"),
        _col("void_reason", "text"),
        _col("issued_by", "text"),
        _col("customer_name", "text"),
    ),
)
# What commands change on an invoice after it is issued: the totals and the void.
INVOICE_CHANGES: tuple[LiteralString, ...] = (
    "allocated",
    "settled",
    "voided",
    "voided_at",
    "void_reason",
)

PAYMENTS = Table(
    "payment.payments",
    ("tenant_id", "payment_no"),
    (
        _col("tenant_id", "text"),
        _col("payment_no", "text"),
        _col("customer_id", "text"),
        _col("method", "text"),
        _col("channel", "text"),
        _col("amount", "numeric"),
        _col("currency", "text"),
        _col("payment_date", "date"),
        _col("status", "text"),
        _col("giro_number", "text", _giro("number")),
        _col("giro_bank", "text", _giro("bank")),
        _col("giro_due_date", "date", _giro("due_date")),
        _col("bank_account", "text"),
        _col("collector_id", "text"),
        _col("resolved_date", "date"),
        _col("cancel_reason_code", "text"),
        _col("cancel_reason", "text"),
        _col("recorded_by", "text"),
        _col("customer_name", "text"),
        _col("recorded_actor", "text"),
        _col("cancel_requested_by", "text"),
        _col("bank_charge", "numeric"),
        _col("bounced_date", "date"),
    ),
)
# What commands change on a payment after it is recorded (its allocations are their own table).
PAYMENT_CHANGES: tuple[LiteralString, ...] = (
    "status",
    "resolved_date",
    "cancel_reason_code",
    "cancel_reason",
    "cancel_requested_by",
    "bank_charge",
    "bounced_date",
)

STATUS_HISTORY = Table(
    "payment.status_history",
    (),
    (
        _col("tenant_id", "text"),
        _col("entity", "text"),
        _col("entity_id", "text"),
        _col("from_status", "text"),
        _col("to_status", "text"),
        _col("at", "timestamptz"),
        _col("actor", "text"),
        _col("command_id", "text"),
        _col("reason_code", "text"),
        _col("reason", "text"),
    ),
)

ALLOCATION_HISTORY = Table(
    "payment.allocation_history",
    (),
    (
        _col("tenant_id", "text"),
        _col("payment_no", "text"),
        _col("invoice_no", "text"),
        _col("kind", "text"),
        _col("amount", "numeric"),
        _col("at", "timestamptz"),
        _col("actor", "text"),
        _col("command_id", "text"),
        _col("reason", "text"),
    ),
)
