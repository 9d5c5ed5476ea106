"""`lunas token issue`: the printed token opens exactly the named feed, for the asked lifetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from services.notify_svc.tokens import InvalidToken, verify_token
from services.ops.notify_cmds import feed_app, token_app

SECRET = "cli-test-secret-0123456789abcdef"
ENV = {"LUNAS_FEED_TOKEN_SECRET": SECRET, "LUNAS_FEED_TOKEN_TTL_SECONDS": "600"}


def issue(*args: str) -> str:
    result = CliRunner().invoke(token_app, ["issue", *args], env=ENV)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_the_token_names_the_tenant_and_user_and_expires_after_the_ttl() -> None:
    before = datetime.now(UTC)
    token = issue("--tenant", "seller-clodeo-77", "--user", "user:seller-77", "--ttl", "120")
    who = verify_token(SECRET, token, datetime.now(UTC))
    assert (who.tenant, who.user) == ("seller-clodeo-77", "user:seller-77")
    assert before + timedelta(seconds=119) <= who.expires_at <= before + timedelta(seconds=122)
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token, before + timedelta(seconds=125))
    with pytest.raises(InvalidToken):
        verify_token("another-secret-0123456789abcdef", token, datetime.now(UTC))


def test_without_ttl_the_configured_lifetime_applies() -> None:
    before = datetime.now(UTC)
    who = verify_token(SECRET, issue("--tenant", "t1", "--user", "tenant:t1"), before)
    assert timedelta(seconds=598) <= who.expires_at - before <= timedelta(seconds=602)


def test_a_blank_user_is_refused_with_a_usage_error() -> None:
    result = CliRunner().invoke(token_app, ["issue", "--tenant", "t1", "--user", " "], env=ENV)
    assert result.exit_code == 2 and result.stdout.strip() == ""


def test_both_groups_keep_their_subcommand_names_for_mounting() -> None:
    assert "issue" in CliRunner().invoke(token_app, ["--help"]).stdout
    assert "rebuild" in CliRunner().invoke(feed_app, ["--help"]).stdout
