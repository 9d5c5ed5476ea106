"""Example messages of the seed scenarios, as committed JSON files, for tests and the demo."""

from __future__ import annotations

from pathlib import Path

from schemas.envelope import Envelope, decode
from schemas.registry import is_command

EXAMPLES_DIR = Path(__file__).parent


def scenarios() -> list[str]:
    """Names of the scenarios (one folder each), sorted."""
    return sorted(
        p.name for p in EXAMPLES_DIR.iterdir() if p.is_dir() and not p.name.startswith("_")
    )


def example_paths(scenario: str | None = None) -> list[Path]:
    """The example files of one scenario (or all), in the order they happen."""
    names = [scenario] if scenario else scenarios()
    return [path for name in names for path in sorted((EXAMPLES_DIR / name).glob("*.json"))]


def load_scenario(scenario: str, *, commands_only: bool = False) -> list[Envelope]:
    """Decode a scenario's messages; `commands_only` keeps what an upstream would publish."""
    messages = [decode(path.read_bytes()) for path in example_paths(scenario)]
    return [m for m in messages if is_command(m.type)] if commands_only else messages
