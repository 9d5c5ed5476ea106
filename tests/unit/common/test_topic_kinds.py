"""Every contract topic has a kind, hence a retention setting; retention comparisons."""

from __future__ import annotations

import pytest

from schemas import topics as contract
from services.common.settings import Settings
from services.common.topics import (
    FOREVER,
    TopicKind,
    _retention_shorter,
    all_topic_names,
    topic_configs,
    topic_kind,
)


def test_every_topic_has_a_kind_and_a_retention() -> None:
    settings = Settings(topic_retention_events_ms=1234)
    for name in all_topic_names():
        config = topic_configs(name, settings.topic_retention_ms())
        assert int(config["retention.ms"]) == settings.topic_retention_ms()[topic_kind(name)]
    assert topic_kind(contract.PAYMENT_EVENTS) is TopicKind.events
    assert topic_kind(contract.PICKUP_CANCEL_REQUESTED) is TopicKind.commands
    assert topic_kind(contract.dlq_topic(contract.PAYMENT_EVENTS)) is TopicKind.dlq
    assert topic_kind(contract.NOTIFICATIONS) is TopicKind.notifications
    with pytest.raises(ValueError):
        topic_kind("somebody.else")


@pytest.mark.parametrize(
    ("actual", "wanted", "shorter"),
    [(1, 2, True), (2, 2, False), (3, 2, False), (FOREVER, 2, False), (5, FOREVER, True)],
)
def test_retention_shorter(actual: int, wanted: int, shorter: bool) -> None:
    assert _retention_shorter(actual, wanted) is shorter


def test_a_retention_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="keeps nothing"):
        Settings(topic_retention_dlq_ms=0)
