"""payment_svc over a real broker and Postgres: the help-centre seeds end in the states they show.

The inputs are the committed example commands (``schemas/examples``); the events the service
emits must carry exactly the example events' data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from schemas import topics
from schemas.examples import load_scenario
from services.common.settings import Settings
from services.payment_svc.bootstrap import build_spec
from tests.integration.payment.helpers import (
    invoice,
    issue,
    payment,
    play,
    send,
    violations,
    watching,
)
from tests.integration.runtime.helpers import running

pytestmark = pytest.mark.integration

SEED_TENANT = "dist-simplidots-01"
ROOT = Path(__file__).resolve().parents[3]


def _example_events(scenario: str) -> dict[str, dict[str, Any]]:
    """The example payment events of a scenario, by type: what the service must emit."""
    return {
        env.type: env.data_dict()
        for env in load_scenario(scenario)
        if env.type.startswith(("payment.", "invoice.")) and env.source == "/svc/payment"
    }


def test_giro_is_resolved_from_active_to_completed_on_the_clearing_date(
    test_settings: Settings,
) -> None:
    dsn = test_settings.database_dsn()
    with watching(test_settings) as watcher, running(build_spec(test_settings), test_settings):
        play(test_settings, load_scenario("giro_resolve", commands_only=True))
        watcher.wait("payment.resolved", topics.PAYMENT_EVENTS, payment_no="PR-230800811")

    expected = _example_events("giro_resolve")
    for type_ in ("invoice.issued", "payment.recorded", "payment.resolved"):
        (seen,) = watcher.matching(type_)
        assert seen.data == expected[type_], type_
    assert [s.message["causationid"] for s in watcher.matching("payment.resolved")] == [
        "bo-7f3c2a11-resolve-PR-230800811"
    ]
    giro = payment(dsn, "PR-230800811", SEED_TENANT)
    assert (giro["status"], giro["amount"], giro["payment_date"], giro["resolved_date"]) == (
        "completed",
        "30878568.81",
        "2023-08-21",
        "2023-08-22",
    )
    assert [(h["from_status"], h["to_status"], h["actor"]) for h in giro["history"]] == [
        (None, "active", "admin:ani"),
        ("active", "completed", "admin:ani"),
    ]
    bill = invoice(dsn, "INV-230800511", SEED_TENANT)
    # While the giro was Active the invoice was covered but not yet paid.
    assert [h["to_status"] for h in bill["history"]] == ["unpaid", "in_payment", "paid"]
    assert (bill["status"], bill["outstanding"]) == ("paid", "0.00")
    assert violations(dsn) == []


def test_completed_payment_is_cancelled_and_its_invoice_is_owed_again(
    test_settings: Settings,
) -> None:
    dsn = test_settings.database_dsn()
    commands = load_scenario("payment_cancel", commands_only=True)
    setup = [c for c in commands if c.type in ("invoice.issue", "payment.record")]
    later = [c for c in commands if c.type not in ("invoice.issue", "payment.record")]
    with watching(test_settings) as watcher, running(build_spec(test_settings), test_settings):
        if not any(c.type == "invoice.issue" for c in setup):
            # The payment settles an invoice billing issued before it; older example sets
            # leave that step out.
            bill = issue("INV-250100017", "1500000.00", customer="CUST-2040", tenant=SEED_TENANT)
            send(test_settings, bill)
            watcher.wait("invoice.issued", invoice_no="INV-250100017")
        play(test_settings, setup)
        watcher.wait("payment.recorded", payment_no="CP-250100041")
        completed = payment(dsn, "CP-250100041", SEED_TENANT)
        owed_while_paid = invoice(dsn, "INV-250100017", SEED_TENANT)["outstanding"]
        play(test_settings, later)
        watcher.wait("command.rejected", command_type="payment.resolve")

    expected = _example_events("payment_cancel")
    (cancelled_event,) = watcher.matching("payment.cancelled")
    assert cancelled_event.data == expected["payment.cancelled"]
    assert (completed["status"], owed_while_paid) == ("completed", "250000.00")
    cancelled = payment(dsn, "CP-250100041", SEED_TENANT)
    assert (cancelled["status"], cancelled["usage"], cancelled["allocations"]) == (
        "cancelled",
        "unused",
        [],
    )
    last = cancelled["history"][-1]
    assert (last["from_status"], last["to_status"], last["actor"], last["command_id"]) == (
        "completed",
        "cancelled",
        "admin:budi",
        "bo-cancel-CP-250100041",
    )
    assert (last["reason_code"], last["reason"]) == (
        "input_error",
        "Nominal transfer salah input, akan dicatat ulang.",
    )
    restored = invoice(dsn, "INV-250100017", SEED_TENANT)
    assert (restored["status"], restored["outstanding"]) == ("unpaid", "1500000.00")
    (rejected,) = watcher.matching("command.rejected")
    assert rejected.data["code"] == "invalid_state"
    assert rejected.data["message"] == (
        "payment CP-250100041 is Cancelled; only Active payments can be resolved"
    )
    assert violations(dsn) == []

    # The back office reads the same story through the CLI.
    shown = lunas_show(dsn, "payment", "--tenant", SEED_TENANT, "CP-250100041", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["history"][-1]["reason_code"] == "input_error"
    text = lunas_show(dsn, "payment", "--tenant", SEED_TENANT, "CP-250100041")
    assert text.returncode == 0, text.stderr
    assert "CANCELLED" in text.stdout and "Nominal transfer salah input" in text.stdout
    bill_text = lunas_show(dsn, "invoice", "--tenant", SEED_TENANT, "INV-250100017")
    assert bill_text.returncode == 0, bill_text.stderr
    assert "outstanding 1500000.00" in bill_text.stdout
    other = lunas_show(dsn, "payment", "--tenant", "someone-else", "CP-250100041")
    assert other.returncode == 1
    assert "payment CP-250100041 not found for tenant someone-else" in other.stderr


def lunas_show(dsn: str, kind: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``lunas <kind> show ...`` in a child process, as an operator runs it."""
    program = (
        "import sys; from services.ops.payment_cmds import invoice_app, payment_app;"
        f" {kind}_app(['show', *sys.argv[1:]])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUNAS_")}
    env.update({"LUNAS_DATABASE_URL": dsn, "LUNAS_LOG_LEVEL": "WARNING"})
    return subprocess.run(
        [sys.executable, "-c", program, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_sfa_collection_waits_pending_until_an_admin_confirms_it(
    test_settings: Settings,
) -> None:
    dsn = test_settings.database_dsn()
    commands = load_scenario("sfa_pending", commands_only=True)
    with watching(test_settings) as watcher, running(build_spec(test_settings), test_settings):
        play(test_settings, commands[:1])
        watcher.wait("payment.recorded", payment_no="PR-230900107")
        pending = payment(dsn, "PR-230900107", SEED_TENANT)
        play(test_settings, commands[1:])
        watcher.wait("payment.confirmed", payment_no="PR-230900107")

    expected = _example_events("sfa_pending")
    for type_ in ("payment.recorded", "payment.confirmed"):
        (seen,) = watcher.matching(type_)
        assert seen.data == expected[type_], type_
    assert (pending["status"], pending["channel"], pending["collector_id"]) == (
        "pending",
        "sfa",
        "collector-17",
    )
    confirmed = payment(dsn, "PR-230900107", SEED_TENANT)
    assert confirmed["status"] == "completed"
    assert [(h["to_status"], h["actor"]) for h in confirmed["history"]] == [
        ("pending", "user:collector-17"),
        ("completed", "admin:ani"),
    ]


def test_a_payment_credited_to_an_invoice_later_emits_the_example_events(
    test_settings: Settings,
) -> None:
    with watching(test_settings) as watcher, running(build_spec(test_settings), test_settings):
        play(test_settings, load_scenario("payment_allocate", commands_only=True))
        watcher.wait("payment.allocated", payment_no="PR-231000214")

    expected = _example_events("payment_allocate")
    for type_ in ("invoice.issued", "payment.recorded", "payment.allocated"):
        (seen,) = watcher.matching(type_)
        assert seen.data == expected[type_], type_
    bill = invoice(test_settings.database_dsn(), "INV-231000118", SEED_TENANT)
    assert (bill["status"], bill["outstanding"]) == ("paid", "0.00")
