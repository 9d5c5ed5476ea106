"""The import structure docs/ARCHITECTURE.md promises: the contract (``schemas``) imports no
service, and no two modules import each other, directly or round a longer loop (a package's
``__init__`` counts: importing ``a.b.c`` runs ``a`` and ``a.b`` first).

Read from the source with ``ast``: module-level imports only; imports inside functions and under
``if TYPE_CHECKING:`` do not run at import time and cannot make a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "schemas", "examples")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imported(module: str, path: Path, known: Mapping[str, Path]) -> set[str]:
    """The project modules ``module`` runs when it is imported (package inits included)."""

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: list[str] = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            names += [f"{base}.{alias.name}" for alias in node.names] + [base]
    targets = {t for t in map(resolve, names) if t is not None}
    with_parents = set(targets)
    for target in targets:
        parts = target.split(".")
        with_parents |= {".".join(parts[:i]) for i in range(1, len(parts))} & set(known)
    # A module's own packages are already running when it is imported.
    return {t for t in with_parents if t != module and not module.startswith(t + ".")}


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {module: _imported(module, path, known) for module, path in known.items()}


def test_the_cycle_finder_finds_a_loop_through_three_modules() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_package_inits_and_relative_imports() -> None:
    graph = _graph()
    assert "services.common.runtime" in graph["services.payment_svc.handlers"]
    assert "services.payment_svc.domain.outcomes" in graph["services.payment_svc.domain.lifecycle"]


def test_no_module_imports_itself_round_a_loop() -> None:
    assert cycles(_graph()) == []


def test_the_contract_imports_no_service() -> None:
    leaks = {
        module: sorted(t for t in targets if t.startswith("services"))
        for module, targets in _graph().items()
        if module.startswith("schemas")
    }
    assert {m: t for m, t in leaks.items() if t} == {}
