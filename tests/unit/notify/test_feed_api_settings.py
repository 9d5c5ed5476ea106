"""The feed API's limits as settings: streams must leave uvicorn room for requests and probes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.common.settings import Settings
from services.notify_svc.entrypoint import feed_api_config


def test_defaults_cap_streams_per_token_and_below_the_concurrency_limit() -> None:
    settings = Settings()
    assert settings.feed_streams_per_token == 5
    assert settings.feed_streams_max < settings.feed_api_limit_concurrency


def test_streams_that_could_fill_the_concurrency_limit_are_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="LUNAS_FEED_STREAMS_MAX must be below"):
        Settings(feed_streams_max=100, feed_api_limit_concurrency=100)


def test_the_feed_api_server_takes_its_concurrency_limit_from_settings() -> None:
    settings = Settings(feed_streams_max=10, feed_api_limit_concurrency=50)
    config = feed_api_config(object(), settings)  # type: ignore[arg-type]  # not served here
    assert config.limit_concurrency == 50 and config.lifespan == "on"
