"""A service's tables as its adapters write them: each column named once, with its SQL type and
where its value comes from; the SELECT lists and the batch's INSERT and UPDATE statements are
derived from the declaration (payment_svc's ``adapters/tables.py``, pickup_svc's ``postgres.py``),
so a column added to a table is added there and in its migration.

Every statement takes its rows as one JSON parameter (``json_to_recordset``; see
``services/common/runtime/store.py`` for why not parameter arrays).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, LiteralString


@dataclass(frozen=True)
class Column:
    name: LiteralString
    sql_type: LiteralString
    value: Callable[[Any], Any]


def col(
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
        return self.select_without()

    def select_without(self, *left_out: LiteralString) -> LiteralString:
        return ", ".join(c.name for c in self.columns if c.name not in left_out)

    @staticmethod
    def _typed(columns: Iterable[Column]) -> LiteralString:
        return ", ".join(c.name + " " + c.sql_type for c in columns)

    def _recordset(self, columns: Iterable[Column]) -> LiteralString:
        return "json_to_recordset(%s::json) AS u(" + self._typed(columns) + ")"

    def insert(self, *, stamped: bool = False, ordered: bool = False) -> LiteralString:
        """Insert the rows of the JSON parameter; ``stamped``: ``created_at`` and ``updated_at``
        from two parameters before it; ``ordered``: in the order of the JSON array (the
        histories' ids follow the order the decisions made them in)."""
        names = self.select_list
        into = names + (", created_at, updated_at" if stamped else "")
        values = names + (", %s, %s" if stamped else "")
        source = self._recordset(self.columns)
        if ordered:
            source = (
                "ROWS FROM (json_to_recordset(%s::json) AS (" + self._typed(self.columns) + "))"
                " WITH ORDINALITY AS u(" + names + ", ord)"
            )
        order = " ORDER BY ord" if ordered else ""
        return "".join(
            ("INSERT INTO ", self.name, " (", into, ") SELECT ", values, " FROM ", source, order)
        )

    def update(self, changed: tuple[LiteralString, ...], *, stamped: bool = True) -> LiteralString:
        """Set ``changed`` (``stamped``: and ``updated_at``, the parameter before the JSON) on the
        rows whose key the JSON rows name."""
        wanted = (*self.key, *changed)
        columns = [c for c in self.columns if c.name in wanted]
        sets = ", ".join(n + " = u." + n for n in changed)
        match = " AND ".join("x." + k + " = u." + k for k in self.key)
        stamp = ", updated_at = %s" if stamped else ""
        source = self._recordset(columns)
        return "".join(
            ("UPDATE ", self.name, " x SET ", sets, stamp, " FROM ", source, " WHERE ", match)
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
