"""Output of the ``lunas`` commands: JSON for scripts, tables for people, errors on stderr."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from services.common.logging import configure_logging
from services.common.settings import Settings


def settings(*, stack_env: bool = True, configure: bool = True) -> Settings:
    """The settings of a command: the environment, else the stack ``lunas run`` left its
    address for (``<data dir>/stack.env``; said on stderr)."""
    loaded = Settings()
    if configure:
        configure_logging(loaded.log_level, loaded.log_format)
    if not stack_env:
        return loaded
    from services.ops import stack_env as found_stack

    found = found_stack.apply(loaded)
    if found.note is not None:
        typer.echo(f"lunas: {found.note}", err=True)
    return found.settings


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, default=str))


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain table on stdout (wide enough not to wrap in a pipe)."""
    grid = Table(title=title, title_justify="left")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*("-" if cell is None else str(cell) for cell in row))
    Console(width=200).print(grid)


def line(text: str) -> None:
    typer.echo(text)
