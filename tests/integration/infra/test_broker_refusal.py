"""A broker that refuses the session timeout stops each service with one line naming the setting.

Apache Kafka refuses a session timeout below group.min.session.timeout.ms (6000) on every join;
the embedded broker accepts 2000, so these run only against an external broker (the Kafka leg of
`.ci/run`, `make test-kafka`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.common.kafka_refusal import EXIT_REFUSED
from services.common.settings import Settings
from tests.fixtures.infra import external_broker

ROOT = Path(__file__).resolve().parents[3]
REFUSED_MS = "2000"
HANG_GUARD_S = 180  # a service that retried for ever would never exit: fail instead of hanging

SERVICES = {
    "payment": ["-m", "services.payment_svc.entrypoint"],
    "pickup": ["-m", "services.pickup_svc.entrypoint"],
    "notify": ["-m", "services.notify_svc.entrypoint", "notify"],
}


@pytest.fixture
def kafka_only(request: pytest.FixtureRequest) -> None:
    if not external_broker(request.config):
        pytest.skip("the embedded broker accepts a 2000 ms session timeout; run against Kafka")


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_refused_session_timeout_stops_the_service_naming_the_setting(
    kafka_only: None,
    service: str,
    infra: Settings,
    private_broker: str,
    fresh_database: str,
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUNAS_")}
    env.update(
        {
            "LUNAS_KAFKA_BOOTSTRAP_SERVERS": private_broker,
            "LUNAS_DATABASE_URL": fresh_database,
            "LUNAS_REDIS_URL": infra.redis_dsn(),
            "LUNAS_FEED_TOKEN_SECRET": "s" * 40,
            "LUNAS_DATA_DIR": str(tmp_path),
            "LUNAS_KAFKA_SESSION_TIMEOUT_MS": REFUSED_MS,
            "LUNAS_LOG_FORMAT": "json",
        }
    )
    proc = subprocess.run(
        [sys.executable, *SERVICES[service]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )
    assert proc.returncode == EXIT_REFUSED, proc.stderr[-2000:]
    lines = [json.loads(x) for x in proc.stderr.splitlines() if x.startswith("{")]
    refused = [x for x in lines if x.get("event") == "kafka.refused"]
    assert len(refused) == 1, proc.stderr[-2000:]
    assert refused[0]["error"] == "INVALID_SESSION_TIMEOUT"
    assert refused[0]["setting"] == "LUNAS_KAFKA_SESSION_TIMEOUT_MS"
    assert refused[0]["service"] == service
    assert "LUNAS_KAFKA_SESSION_TIMEOUT_MS" in refused[0]["message"]
