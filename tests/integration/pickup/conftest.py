"""The topic watcher the pickup integration tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.common.settings import Settings
from tests.integration.pickup.helpers import Watcher, watching


@pytest.fixture
def watcher(test_settings: Settings) -> Iterator[Watcher]:
    """Watches pickup's output topics of this test's broker."""
    with watching(test_settings) as w:
        yield w
