"""Failures the runtime must survive: Postgres away under load, and SIGKILL at random points."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import SecretStr

from schemas import derive_id, topics
from services.common.settings import Settings
from tests.fixtures.tcp_proxy import TcpProxy
from tests.integration.runtime.helpers import (
    effects,
    issue_command,
    produce,
    read_topic,
    running,
    start_process,
    wait_for,
)
from tests.integration.runtime.toy_service import prepare, toy_spec

pytestmark = pytest.mark.integration


def _via(proxy: TcpProxy, dsn: str) -> str:
    params = conninfo_to_dict(dsn)
    params.update(host="127.0.0.1", port=proxy.port)
    return make_conninfo(**params)


def _behind_proxy(test_settings: Settings) -> tuple[TcpProxy, Settings]:
    """The toy service's schema ready, and settings reaching Postgres through a proxy that can
    cut it (batches of 10)."""
    dsn = test_settings.database_dsn()
    prepare(dsn)
    params = conninfo_to_dict(dsn)
    proxy = TcpProxy(str(params.get("host", "127.0.0.1")), int(params.get("port", 5432)))
    return proxy, test_settings.model_copy(
        update={"database_url": SecretStr(_via(proxy, dsn)), "batch_size": 10}
    )


def test_postgres_unreachable_under_load_skips_nothing(test_settings: Settings) -> None:
    dsn, bootstrap = test_settings.database_dsn(), test_settings.kafka_bootstrap_servers
    assert bootstrap
    proxy, settings = _behind_proxy(test_settings)
    commands = [issue_command(f"INV-{i}") for i in range(300)]
    try:
        with running(toy_spec(), settings):
            produce(bootstrap, topics.PAYMENT_COMMANDS, commands[:100])
            wait_for(lambda: len(effects(dsn)) >= 20, what="the first effects")
            proxy.down()
            produce(bootstrap, topics.PAYMENT_COMMANDS, commands[100:])
            time.sleep(6)
            during = len(effects(dsn))
            proxy.up()
            wait_for(lambda: len(effects(dsn)) == 300, timeout=120, what="all 300 effects")
    finally:
        proxy.close()
    assert during < 300, "the outage did not interrupt anything"
    assert proxy.refused > 0
    assert effects(dsn) == {c["id"]: 1 for c in commands}


def test_partitions_taken_away_during_an_outage_are_read_again_when_they_come_back(
    test_settings: Settings,
) -> None:
    """librdkafka keeps a partition's pause through its revocation: a partition taken by
    another member while Postgres was away, and given back after, must not stay paused."""
    dsn, bootstrap = test_settings.database_dsn(), test_settings.kafka_bootstrap_servers
    assert bootstrap
    proxy, first = _behind_proxy(test_settings)
    commands = [issue_command(f"INV-{i}") for i in range(240)]
    try:
        with running(toy_spec(), first):
            produce(bootstrap, topics.PAYMENT_COMMANDS, commands[:60])
            wait_for(lambda: len(effects(dsn)) == 60, what="the first effects")
            proxy.down()  # the first member now waits with its partitions paused
            produce(bootstrap, topics.PAYMENT_COMMANDS, commands[60:120])
            with running(toy_spec(), test_settings):
                # Effects while the first member cannot write are the second's: it took some
                # of the partitions the first held paused.
                wait_for(lambda: len(effects(dsn)) > 60, timeout=60, what="a second member")
                proxy.up()
                wait_for(lambda: len(effects(dsn)) == 120, timeout=60, what="120 effects")
            # The second member left: its partitions are the first's again.
            produce(bootstrap, topics.PAYMENT_COMMANDS, commands[120:])
            wait_for(lambda: len(effects(dsn)) == 240, timeout=60, what="all 240 effects")
    finally:
        proxy.close()
    assert effects(dsn) == {c["id"]: 1 for c in commands}


# Each kill lands at a random moment of a life of 0.3-3 s (start-up, a batch, the relay), while
# the feeder still produces: fourteen land in every phase of that life more than once.
KILLS = 14


def _start(settings: Settings, log: Path, level: str = "WARNING") -> subprocess.Popen[bytes]:
    module = "tests.integration.runtime.toy_service"
    return start_process(settings, module, log, batch_size="15", log_level=level)


def test_sigkill_at_random_points_loses_nothing_and_applies_nothing_twice(
    test_settings: Settings, tmp_path: Path
) -> None:
    dsn, bootstrap = test_settings.database_dsn(), test_settings.kafka_bootstrap_servers
    assert bootstrap
    prepare(dsn)
    rng = random.Random(20261122)
    commands = [issue_command(f"INV-{i}", customer=f"C{i % 7}") for i in range(600)]
    log = tmp_path / "toy.log"

    def producer() -> None:
        for start in range(0, len(commands), 30):
            chunk = commands[start : start + 30]
            produce(bootstrap, topics.PAYMENT_COMMANDS, chunk + chunk[:3])  # with duplicates
            time.sleep(1.0)

    feeder = threading.Thread(target=producer)
    feeder.start()
    kills = 0
    while kills < KILLS:
        proc = _start(test_settings, log)
        time.sleep(rng.uniform(0.3, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        kills += 1
    feeder.join()

    started = log.read_text().count("service.started")
    final = _start(test_settings, log, level="INFO")
    try:
        # SIGTERM is handled once the service runs (a signal during start-up just kills it).
        wait_for(lambda: log.read_text().count("service.started") > started, what="started")
        wait_for(
            lambda: len(effects(dsn)) == len(commands),
            timeout=180,
            what="every command applied after the kills",
        )
        wait_for(lambda: _unsent(dsn) == 0, timeout=60, what="the outbox drained")
    finally:
        final.send_signal(signal.SIGTERM)
        code = final.wait(60)
    assert code == 0, f"SIGTERM should exit 0, got {code}:\n{log.read_text()[-3000:]}"
    assert effects(dsn) == {c["id"]: 1 for c in commands}

    expected = {
        derive_id(f"{c['tenantid']}/{c['source']}/{c['id']}", f"invoice.issued/{c['subject']}")
        for c in commands
    }
    records = read_topic(
        bootstrap,
        topics.PAYMENT_EVENTS,
        lambda rs: expected <= {json.loads(r.value())["id"] for r in rs},
        timeout=120,
    )
    seen = [json.loads(r.value()) for r in records]
    assert expected <= {e["id"] for e in seen}
    # Duplicates on the wire are allowed only as the same event (same id, same content).
    by_id: dict[str, str] = {}
    for e in seen:
        assert by_id.setdefault(e["id"], json.dumps(e, sort_keys=True)) == json.dumps(
            e, sort_keys=True
        )


def _unsent(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM toy.outbox WHERE sent_at IS NULL").fetchone()
    assert row is not None
    return int(row[0])
