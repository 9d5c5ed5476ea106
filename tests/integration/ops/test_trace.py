"""``lunas trace`` on what ``lunas run --demo`` just played: seed 002's approval followed across
pickup_svc, payment_svc and notify_svc, from their tables and the topics. The test asserts the
tree's shape (what caused what, outcomes, recipients, one trace), never its times."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.ops.test_run import Run, _lunas

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "lunas"


def _find(node: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    found = [node] if node["type"] == type_ else []
    for child in node["children"]:
        found += _find(child, type_)
    return found


def _child_types(node: dict[str, Any]) -> set[str]:
    return {c["type"] for c in node["children"]}


def test_trace_follows_the_demo_approval_to_the_voided_invoice_released_payment_and_seller(
    data_dir: Path,
) -> None:
    run = Run(data_dir, "--demo")
    try:
        assert run.line(90)["ready"] is True
        summary = run.line(90)
        [approval] = [
            s
            for s in summary["demo"]
            if s["scenario"] == "pickup_cancel_approve" and s["command"] == "pickup.cancel.decide"
        ]
        assert any(f"lunas trace {approval['id']}" in hint for hint in summary["try"])

        shown = _lunas(data_dir, "trace", approval["id"], "--json")
        assert shown.returncode == 0, shown.stderr
        traced = json.loads(shown.stdout)
        [root] = traced["trees"]
        assert (root["kind"], root["type"], root["outcome"], root["service"]) == (
            "command", "pickup.cancel.decide", "applied", "pickup",
        )  # fmt: skip
        assert {"pickup.cancel.decided", "invoice.void", "payment.release"} <= _child_types(root)
        [decided] = _find(root, "pickup.cancel.decided")
        [void] = _find(root, "invoice.void")
        [release] = _find(root, "payment.release")
        for sent in (void, release):
            assert (sent["kind"], sent["service"], sent["outcome"]) == (
                "command", "payment", "applied",
            )  # fmt: skip
        assert "invoice.voided" in _child_types(void)
        # The two commute: whichever payment_svc applies first frees the payment; the other then
        # changes nothing and reports nothing.
        assert "payment.released" in _child_types(void) | _child_types(release)
        seller = approval_seller(decided)
        told = set(traced["notifications"])
        assert f"pickup_cancel_approved:{seller}" in told
        assert f"invoice_voided:{seller}" in told
        assert f"payment_released:{seller}" in told
        # One trace from the back office's decision to the seller's notifications.
        assert len(traced["trace_ids"]) == 1
        nodes = [root]
        while nodes:
            node = nodes.pop()
            assert node["trace_id"] == traced["trace_ids"][0], node["type"]
            assert node["kind"] == "command" or node["delay_s"] is not None
            nodes += node["children"]

        text = _lunas(data_dir, "trace", approval["id"])
        assert text.returncode == 0, text.stderr
        for what in ("pickup.cancel.decided", "invoice.voided", "payment.released", seller):
            assert what in text.stdout

        unknown = _lunas(data_dir, "trace", "no-such-command")
        assert unknown.returncode == 4
        assert "no service has consumed a command with id 'no-such-command'" in unknown.stderr
        assert run.interrupt() < 5
    finally:
        run.kill()


def approval_seller(decided: dict[str, Any]) -> str:
    """The seller who asked: the one recipient of the decision that is neither the tenant feed
    nor an admin."""
    people = {
        c["recipient"]
        for c in decided["children"]
        if c["kind"] == "notification" and c["recipient"].startswith("user:")
    }
    assert len(people) == 1, decided["children"]
    return people.pop()
