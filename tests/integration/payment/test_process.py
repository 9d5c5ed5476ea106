"""payment_svc as operators run it: ``python -m services.payment_svc.entrypoint`` in its own
process, driven only through the broker, stopped with SIGTERM."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from schemas.examples import load_scenario
from services.common.settings import Settings
from services.ops.verify import SERVICE_CHECKS, verify
from tests.integration.payment.helpers import invoice, payment, play, watching
from tests.integration.runtime.helpers import start_process

pytestmark = pytest.mark.integration

SEED_TENANT = "dist-simplidots-01"


def _start(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    return start_process(
        settings,
        "services.payment_svc.entrypoint",
        log,
        payment_admins=settings.payment_admins,
        log_level="INFO",
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
