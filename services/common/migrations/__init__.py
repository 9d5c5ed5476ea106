"""Ordered SQL migrations per service schema, applied once, recorded and checksummed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

RUNTIME_DIR = Path(__file__).parent
_SERVICES_DIR = RUNTIME_DIR.parent.parent

# Each service schema: the runtime's tables first, then the service's own files.
SERVICE_MIGRATIONS: dict[str, Path] = {
    "payment": _SERVICES_DIR / "payment_svc" / "migrations",
    "pickup": _SERVICES_DIR / "pickup_svc" / "migrations",
}


class MigrationError(RuntimeError):
    """A migration that was applied before has changed, or a file failed."""


@dataclass(frozen=True)
class Migration:
    name: str
    sql_text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql_text.encode()).hexdigest()


def migrations_for(schema: str) -> list[Migration]:
    files = sorted(RUNTIME_DIR.glob("*.sql"))
    service_dir = SERVICE_MIGRATIONS.get(schema)
    if service_dir is not None and service_dir.is_dir():
        files += sorted(service_dir.glob("*.sql"))
    return [
        Migration(
            f"{f.parent.parent.name}/{f.name}" if f.parent != RUNTIME_DIR else f"runtime/{f.name}",
            f.read_text(),
        )
        for f in files
    ]


def migrate(dsn: str, schema: str, migrations: list[Migration] | None = None) -> list[str]:
    """Apply what is not yet applied to ``schema``; return the names applied now.

    Safe to run concurrently: an advisory lock serializes migrators of the same schema.
    """
    todo = migrations if migrations is not None else migrations_for(schema)
    applied_now: list[str] = []
    ident = sql.Identifier(schema)
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('lunas.migrate.' || %s))", (schema,))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.schema_migrations ("
                " name text PRIMARY KEY, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(ident)
        )
        rows = conn.execute(
            sql.SQL("SELECT name, checksum FROM {}.schema_migrations").format(ident)
        ).fetchall()
        done = {name: checksum for name, checksum in rows}
        for migration in todo:
            if migration.name in done:
                if done[migration.name] != migration.checksum:
                    raise MigrationError(
                        f"{schema}: {migration.name} changed after it was applied; "
                        "add a new migration instead"
                    )
                continue
            with conn.transaction():
                conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(ident))
                try:
                    conn.execute(migration.sql_text.encode())
                except psycopg.Error as exc:
                    raise MigrationError(f"{schema}: {migration.name} failed: {exc}") from exc
                conn.execute(
                    sql.SQL(
                        "INSERT INTO {}.schema_migrations (name, checksum) VALUES (%s, %s)"
                    ).format(ident),
                    (migration.name, migration.checksum),
                )
            applied_now.append(migration.name)
    return applied_now


def migrate_all(dsn: str) -> dict[str, list[str]]:
    return {schema: migrate(dsn, schema) for schema in SERVICE_MIGRATIONS}
