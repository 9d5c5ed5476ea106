"""`lunas token issue`: the printed token opens exactly the named feed, for the asked lifetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from services.notify_svc.tokens import InvalidToken, TokenKeys, verify_token
from services.notify_svc.web import app_link
from services.ops.notify_cmds import feed_app, token_app

SECRET = "cli-test-secret-0123456789abcdef"
KEYS = TokenKeys.of(SECRET)
ENV = {"LUNAS_FEED_TOKEN_SECRET": SECRET, "LUNAS_FEED_TOKEN_TTL_SECONDS": "600"}


def issue(*args: str) -> str:
    result = CliRunner().invoke(token_app, ["issue", *args], env=ENV)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_the_token_names_the_tenant_and_user_and_expires_after_the_ttl() -> None:
    before = datetime.now(UTC)
    token = issue("--tenant", "seller-clodeo-77", "--user", "user:seller-77", "--ttl", "120")
    who = verify_token(KEYS, token, datetime.now(UTC))
    assert (who.tenant, who.user) == ("seller-clodeo-77", "user:seller-77")
    assert before + timedelta(seconds=119) <= who.expires_at <= before + timedelta(seconds=122)
    with pytest.raises(InvalidToken):
        verify_token(KEYS, token, before + timedelta(seconds=125))
    with pytest.raises(InvalidToken):
        verify_token(TokenKeys.of("another-secret-0123456789abcdef!"), token, datetime.now(UTC))


def test_without_ttl_the_configured_lifetime_applies() -> None:
    before = datetime.now(UTC)
    who = verify_token(KEYS, issue("--tenant", "t1", "--user", "tenant:t1"), before)
    assert timedelta(seconds=598) <= who.expires_at - before <= timedelta(seconds=602)


def test_a_blank_user_is_refused_with_a_usage_error() -> None:
    result = CliRunner().invoke(token_app, ["issue", "--tenant", "t1", "--user", " "], env=ENV)
    assert result.exit_code == 2 and result.stdout.strip() == ""


def test_after_a_rotation_new_tokens_are_signed_with_the_new_secret() -> None:
    new = "the-new-secret-after-rotation-0123456789"
    env = {**ENV, "LUNAS_FEED_TOKEN_SECRET": new, "LUNAS_FEED_TOKEN_RETIRED_SECRETS": SECRET}
    result = CliRunner().invoke(token_app, ["issue", "--tenant", "t1", "--user", "user:a"], env=env)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert verify_token(TokenKeys.of(new), token, datetime.now(UTC)).user == "user:a"
    with pytest.raises(InvalidToken):
        verify_token(KEYS, token, datetime.now(UTC))


@pytest.mark.parametrize("secret", [None, "dev-only-change-me"], ids=["unset", "short"])
def test_without_a_usable_secret_no_token_is_printed_and_the_reason_is_given(
    secret: str | None,
) -> None:
    env = {"LUNAS_FEED_TOKEN_SECRET": secret, "LUNAS_FEED_TOKEN_RETIRED_SECRETS": None}
    result = CliRunner().invoke(token_app, ["issue", "--tenant", "t1", "--user", "user:a"], env=env)
    assert result.exit_code == 2 and result.stdout.strip() == ""
    assert "LUNAS_FEED_TOKEN_SECRET" in result.stderr and "32 bytes" in result.stderr


def test_both_groups_keep_their_subcommand_names_for_mounting() -> None:
    assert "issue" in CliRunner().invoke(token_app, ["--help"]).stdout
    assert "rebuild" in CliRunner().invoke(feed_app, ["--help"]).stdout


def test_with_url_the_page_link_carries_a_token_for_the_named_feed() -> None:
    env = {**ENV, "LUNAS_FEED_API_HOST": "127.0.0.1", "LUNAS_FEED_API_PORT": "8123"}
    args = ["issue", "--tenant", "seller-clodeo-77", "--user", "user:seller-77", "--url"]
    result = CliRunner().invoke(token_app, args, env=env)
    assert result.exit_code == 0, result.output
    link = urlsplit(result.stdout.strip())
    assert (link.scheme, link.netloc, link.path) == ("http", "127.0.0.1:8123", "/app")
    (token,) = parse_qs(link.query)["token"]
    who = verify_token(KEYS, token, datetime.now(UTC))
    assert (who.tenant, who.user) == ("seller-clodeo-77", "user:seller-77")


def test_base_url_moves_the_link_to_where_the_feed_api_is_published() -> None:
    args = ["issue", "--tenant", "t1", "--user", "user:a", "--url"]
    result = CliRunner().invoke(
        token_app, [*args, "--base-url", "https://feed.example.test/"], env=ENV
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("https://feed.example.test/app?token=ey")


def test_app_link_quotes_the_token_into_one_query_parameter() -> None:
    link = app_link("http://127.0.0.1:8080/", "a.b+c/d=")
    assert link == "http://127.0.0.1:8080/app?token=a.b%2Bc%2Fd%3D"
    assert parse_qs(urlsplit(link).query) == {"token": ["a.b+c/d="]}
