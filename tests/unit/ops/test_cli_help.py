"""`lunas --version` and every `--help` of the CLI read as plain text: no raw RST or Markdown."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import metadata
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from services.ops.cli import app

runner = CliRunner()


def _paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _paths(sub, (*path, name))


COMMAND_PATHS = list(_paths(typer.main.get_command(app)))


def _help(path: tuple[str, ...]) -> str:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.output


def test_the_walk_reaches_every_command_group_and_subcommand() -> None:
    assert {("run",), ("serve",), ("feed", "rebuild"), ("dlq", "redrive"), ("token", "issue")} <= (
        set(COMMAND_PATHS)
    )
    assert len(COMMAND_PATHS) >= 20


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(p) or "lunas")
def test_help_shows_no_raw_markup(path: tuple[str, ...]) -> None:
    text = _help(path)
    assert "Usage:" in text
    assert "`" not in text, [line for line in text.splitlines() if "`" in line]


def test_angle_bracket_placeholders_survive_the_markdown_rendering() -> None:
    assert "user:<id>" in _help(("token", "issue"))
    assert "tenant:<tenantid>" in _help(("token", "issue"))
    assert "system:<svc>" in _help(("publish",))


def test_version_prints_the_installed_version_and_exits_0() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"lunas {metadata.version('lunas')}\n"
