"""Broker refusals that retrying cannot fix are recognised and stop the process with the setting."""

from __future__ import annotations

import pytest
from aiokafka.errors import (  # type: ignore[import-untyped]
    InvalidSessionTimeoutError,
    RequestTimedOutError,
    TopicAuthorizationFailedError,
)
from confluent_kafka import KafkaError, KafkaException
from structlog.testing import capture_logs

from services.common.kafka_refusal import (
    EXIT_REFUSED,
    exit_on_refusal,
    refusal_of,
    refusal_of_exception,
)


def test_an_invalid_session_timeout_names_the_setting() -> None:
    refusal = refusal_of(KafkaError.INVALID_SESSION_TIMEOUT, "JoinGroup failed")
    assert refusal is not None
    assert refusal.setting == "LUNAS_KAFKA_SESSION_TIMEOUT_MS"
    assert "LUNAS_KAFKA_SESSION_TIMEOUT_MS" in str(refusal)


@pytest.mark.parametrize(
    "code",
    [KafkaError.REQUEST_TIMED_OUT, KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._TRANSPORT],
)
def test_what_a_retry_can_fix_is_no_refusal(code: int) -> None:
    assert refusal_of(code, "x") is None


def test_confluent_and_aiokafka_errors_are_read_alike() -> None:
    confluent = KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))
    by_confluent = refusal_of_exception(confluent)
    by_aiokafka = refusal_of_exception(TopicAuthorizationFailedError("payment.events"))
    assert by_confluent is not None and by_aiokafka is not None
    assert by_confluent.code == by_aiokafka.code == "TOPIC_AUTHORIZATION_FAILED"
    assert refusal_of_exception(RequestTimedOutError()) is None
    assert refusal_of_exception(ValueError("x")) is None


def test_exit_on_refusal_logs_one_line_and_exits_78() -> None:
    with capture_logs() as logs, pytest.raises(SystemExit) as exit_, exit_on_refusal("notify"):
        raise InvalidSessionTimeoutError()
    assert exit_.value.code == EXIT_REFUSED
    refused = [entry for entry in logs if entry["event"] == "kafka.refused"]
    assert len(refused) == 1
    assert refused[0]["setting"] == "LUNAS_KAFKA_SESSION_TIMEOUT_MS"
    assert refused[0]["log_level"] == "error"


def test_other_errors_pass_through() -> None:
    with pytest.raises(ValueError), exit_on_refusal("payment"):
        raise ValueError("a bug, not a refusal")
