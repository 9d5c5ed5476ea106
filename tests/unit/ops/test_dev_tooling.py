"""Where the development tooling is not installed (the wheel, the image), `lunas run` says so
and how to get it, instead of a traceback; `lunas serve` names every process it can run."""

from __future__ import annotations

import importlib
import sys

import pytest
from typer.testing import CliRunner

from services.ops.cli import app
from services.ops.services import PROCESSES, SERVICES

runner = CliRunner()


def test_lunas_run_without_the_tooling_says_it_is_development_tooling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As in an installation without services/ops/stack: importing it fails.
    monkeypatch.setitem(sys.modules, "services.ops.stack.command", None)
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2
    assert "development tooling" in result.output and "make run" in result.output


def test_every_service_and_api_is_a_process_lunas_serve_runs() -> None:
    assert set(PROCESSES) == {*(s.name for s in SERVICES), "feed-api", "read-api"}
    for entry in PROCESSES.values():
        module, function = entry.split(":")
        assert callable(getattr(importlib.import_module(module), function)), entry
