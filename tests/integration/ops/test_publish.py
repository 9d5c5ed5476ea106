"""``lunas publish`` against a real broker: valid commands land on their topics, invalid never."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas import decode, topics
from services.common.settings import Settings
from tests.integration.ops.helpers import create_topics, lunas, lunas_json, read_all

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).parents[3] / "schemas" / "examples"


def example(name: str) -> dict[str, object]:
    """`scenario/NN_<type>.json`, found by scenario and type: numbers change as examples grow."""
    scenario, file_name = name.split("/")
    path = sorted((EXAMPLES / scenario).glob(f"*_{file_name.split('_', 1)[1]}"))[0]
    loaded: dict[str, object] = json.loads(path.read_text())
    return loaded


def test_valid_commands_are_routed_keyed_and_decodable(
    test_settings: Settings, tmp_path: Path
) -> None:
    create_topics(test_settings)
    cancel = example("payment_cancel/04_payment.cancel.json")
    request = example("pickup_cancel_approve/05_pickup.cancel.requested.json")
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps(cancel) + "\n" + json.dumps(request) + "\n")

    report = lunas_json(test_settings, "publish", "--file", str(batch))

    assert report["delivered"] == 2
    bootstrap = test_settings.kafka_bootstrap_servers
    assert bootstrap
    (on_payment,) = read_all(bootstrap, topics.PAYMENT_COMMANDS)
    (on_pickup,) = read_all(bootstrap, topics.PICKUP_CANCEL_REQUESTED)
    assert on_payment.key == b"dist-simplidots-01:CP-250100041"
    assert decode(on_payment.value, on_payment.headers).id == cancel["id"]
    assert decode(on_pickup.value, on_pickup.headers).type == "pickup.cancel.requested"
    assert ("content-type", b"application/cloudevents+json") in on_payment.headers


def test_an_invalid_command_stops_the_whole_file_and_names_its_fields(
    test_settings: Settings, tmp_path: Path
) -> None:
    create_topics(test_settings)
    good = example("payment_cancel/04_payment.cancel.json")
    bad = example("payment_cancel/02_payment.record.json")
    assert isinstance(bad["data"], dict)
    bad["data"]["amount"] = 1250000.5
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps([good, bad]))

    report = lunas_json(test_settings, "publish", "--file", str(batch), code=1)

    assert report["sent"] is False
    assert report["delivered"] == 0
    (refused,) = report["refused"]
    assert refused["item"] == 2
    assert "data.amount" in {e["loc"] for e in refused["errors"]}

    # With the flags, from stdin-free input: only that one arrives; the file's good one never did.
    flagged = lunas_json(
        test_settings,
        "publish",
        "--type", "payment.confirm",
        "--subject", "PR-230800811",
        "--tenant", "dist-1",
        "--actor", "admin:budi",
        "--data", '{"payment_no": "PR-230800811"}',
        "--id", "ops-confirm-1",
    )  # fmt: skip
    assert flagged["delivered"] == 1
    bootstrap = test_settings.kafka_bootstrap_servers
    assert bootstrap
    ids = [json.loads(r.value or b"{}")["id"] for r in read_all(bootstrap, topics.PAYMENT_COMMANDS)]
    assert ids == ["ops-confirm-1"]


def test_skip_invalid_sends_the_valid_ones_and_dry_run_sends_nothing(
    test_settings: Settings,
) -> None:
    create_topics(test_settings)
    good = example("payment_cancel/04_payment.cancel.json")
    text = json.dumps(good) + "\n" + "{oops\n"

    dry = lunas(test_settings, "publish", "--file", "-", "--dry-run", "--skip-invalid", stdin=text)
    assert dry.exit_code == 0, dry.output
    sent = lunas(test_settings, "publish", "--file", "-", "--skip-invalid", "--json", stdin=text)
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.stdout)["refused"][0]["reason"] == "not_json"

    bootstrap = test_settings.kafka_bootstrap_servers
    assert bootstrap
    assert len(read_all(bootstrap, topics.PAYMENT_COMMANDS)) == 1


def test_publish_without_input_is_a_usage_error(test_settings: Settings) -> None:
    result = lunas(test_settings, "publish", "--type", "payment.confirm")
    assert result.exit_code == 2
    assert "--subject" in result.stderr
