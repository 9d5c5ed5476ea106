"""`lunas run` never runs on a known feed secret: the data directory gets a random one, kept."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.common.devstack import DevstackError
from services.common.settings import Settings
from services.notify_svc.bootstrap import token_keys
from services.ops.stack import FEED_SECRET_FILE, with_feed_secret


def _secret(settings: Settings) -> str:
    assert settings.feed_token_secret is not None
    return settings.feed_token_secret.get_secret_value()


def test_a_data_directory_gets_its_own_random_secret_readable_only_by_its_owner(
    tmp_path: Path,
) -> None:
    one = with_feed_secret(Settings(data_dir=tmp_path / "a", feed_token_secret=None))
    other = with_feed_secret(Settings(data_dir=tmp_path / "b", feed_token_secret=None))
    assert _secret(one) != _secret(other)
    path = tmp_path / "a" / FEED_SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == _secret(one)
    token_keys(one)  # long enough for every other entry point


def test_the_same_directory_keeps_its_secret_so_issued_tokens_stay_valid(tmp_path: Path) -> None:
    first = with_feed_secret(Settings(data_dir=tmp_path, feed_token_secret=None))
    again = with_feed_secret(Settings(data_dir=tmp_path, feed_token_secret=None))
    assert _secret(first) == _secret(again)


def test_a_configured_secret_wins_and_no_file_is_written(tmp_path: Path) -> None:
    configured = SecretStr("configured-secret-0123456789abcdef")
    kept = with_feed_secret(Settings(data_dir=tmp_path, feed_token_secret=configured))
    assert _secret(kept) == configured.get_secret_value()
    assert not (tmp_path / FEED_SECRET_FILE).exists()


def test_a_file_others_can_read_is_closed_and_a_spoiled_one_refused(tmp_path: Path) -> None:
    path = tmp_path / FEED_SECRET_FILE
    with_feed_secret(Settings(data_dir=tmp_path, feed_token_secret=None))
    path.chmod(0o644)
    with_feed_secret(Settings(data_dir=tmp_path, feed_token_secret=None))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("short\n")
    with pytest.raises(DevstackError, match="delete it"):
        with_feed_secret(Settings(data_dir=tmp_path, feed_token_secret=None))
