"""Shared machinery of the services' `lunas verify`: run named SQL checks, digest tables."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, LiteralString

import psycopg

# (rule, query): the query selects one text column naming each aggregate that breaks the rule.
Check = tuple[str, LiteralString]
# (table, query): the query selects the rows to digest, in a stable order.
DigestTable = tuple[str, LiteralString]


@dataclass(frozen=True)
class Verifier:
    """A service's part of ``lunas verify``: its invariant checks and the tables of its digest."""

    checks: Sequence[Check]
    tables: Sequence[DigestTable]

    def check_invariants(self, conn: psycopg.Connection[Any]) -> list[str]:
        """Every violated invariant as "<rule>: <tenant>/<aggregate>"; empty when sound."""
        return run_checks(conn, self.checks)

    def state_digest(self, conn: psycopg.Connection[Any]) -> str:
        """sha256 (hex) of a canonical dump of the service's tables, independent of the session."""
        return digest_tables(conn, self.tables)


def run_checks(conn: psycopg.Connection[Any], checks: Sequence[Check]) -> list[str]:
    """Every violated invariant as "<rule>: <aggregate>"; empty when the state is sound."""
    return [
        f"{rule}: {aggregate}"
        for rule, query in checks
        for (aggregate,) in conn.execute(query).fetchall()
    ]


def digest_tables(conn: psycopg.Connection[Any], tables: Sequence[DigestTable]) -> str:
    """sha256 (hex) of a canonical dump of ``tables``, independent of the session."""
    digest = hashlib.sha256()
    for table, query in tables:
        rows = [[_canonical(v) for v in row] for row in conn.execute(query).fetchall()]
        line = json.dumps([table, rows], ensure_ascii=False, separators=(",", ":"))
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _canonical(value: Any) -> Any:
    # Timestamps come back in the session's time zone; UTC makes the dump the same everywhere.
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return value
