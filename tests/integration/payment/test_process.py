"""payment_svc as operators run it: ``python -m services.payment_svc.entrypoint`` in its own
process, driven only through the broker, stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.examples import load_scenario
from services.common.settings import Settings
from services.ops.verify import SERVICE_CHECKS, verify
from tests.integration.payment.helpers import invoice, payment, play, watching

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SEED_TENANT = "dist-simplidots-01"


def _start(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUNAS_")}
    env.update(
        {
            "LUNAS_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
            "LUNAS_DATABASE_URL": settings.database_dsn(),
            "LUNAS_KAFKA_SESSION_TIMEOUT_MS": "2000",
            "LUNAS_PAYMENT_ADMINS": settings.payment_admins,
            "LUNAS_LOG_LEVEL": "INFO",
        }
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.payment_svc.entrypoint"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_the_service_process_resolves_the_giro_and_stops_cleanly_on_sigterm(
    test_settings: Settings, tmp_path: Path
) -> None:
    dsn = test_settings.database_dsn()
    log = tmp_path / "payment.log"
    with watching(test_settings) as watcher:
        child = _start(test_settings, log)
        try:
            play(test_settings, load_scenario("giro_resolve", commands_only=True))
            watcher.wait("payment.resolved", payment_no="PR-230800811")
        finally:
            child.send_signal(signal.SIGTERM)
            code = child.wait(timeout=60)

    assert code == 0, log.read_text()[-3000:]
    assert "service.stopped" in log.read_text()
    assert payment(dsn, "PR-230800811", SEED_TENANT)["status"] == "completed"
    assert invoice(dsn, "INV-230800511", SEED_TENANT)["status"] == "paid"
    # What `lunas verify` reports for the payment schema: sound, with a digest.
    report = verify(dsn, {"payment": SERVICE_CHECKS["payment"]})
    assert (report.violations, report.warnings) == ([], [])
    assert report.digests["payment"] is not None
