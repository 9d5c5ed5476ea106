"""Feed tokens: only a genuine, unexpired token names a principal."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from services.notify_svc.tokens import InvalidToken, issue_token, verify_token

SECRET = "s3cret-for-tests-only-0123456789"
NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_a_fresh_token_names_its_tenant_and_user() -> None:
    token = issue_token(SECRET, "dist-1", "user:seller-17", HOUR, NOW)
    principal = verify_token(SECRET, token, NOW + timedelta(minutes=59))
    assert (principal.tenant, principal.user) == ("dist-1", "user:seller-17")
    assert principal.expires_at == NOW + HOUR


def test_an_expired_token_is_refused() -> None:
    token = issue_token(SECRET, "dist-1", "user:a", HOUR, NOW)
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(SECRET, token, NOW + HOUR)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = issue_token("another-secret-of-16-bytes-or-more", "dist-1", "user:a", HOUR, NOW)
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token, NOW)


def _reencode(payload: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_changing_the_tenant_or_expiry_breaks_the_signature() -> None:
    token = issue_token(SECRET, "dist-1", "user:a", HOUR, NOW)
    _, sig = token.split(".")
    exp = int((NOW + HOUR).timestamp())
    for forged in (
        {"v": 1, "t": "dist-2", "u": "user:a", "exp": exp},
        {"v": 1, "t": "dist-1", "u": "user:b", "exp": exp},
        {"v": 1, "t": "dist-1", "u": "user:a", "exp": exp + 86400},
    ):
        with pytest.raises(InvalidToken, match="signature"):
            verify_token(SECRET, f"{_reencode(forged)}.{sig}", NOW)


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b.c", "..", "!!!.???", "x" * 5000, "eyJ2IjoxfQ.", ".c2ln"]
)
def test_garbage_is_refused_as_invalid_token(token: str) -> None:
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token, NOW)


def test_an_alternative_spelling_of_the_signature_is_refused() -> None:
    token = issue_token(SECRET, "dist-1", "user:a", HOUR, NOW)
    assert verify_token(SECRET, token, NOW).user == "user:a"
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token + "=", NOW)


def test_weak_secret_and_non_positive_ttl_are_configuration_errors() -> None:
    with pytest.raises(ValueError, match="secret"):
        issue_token("short", "dist-1", "user:a", HOUR, NOW)
    with pytest.raises(ValueError, match="ttl"):
        issue_token(SECRET, "dist-1", "user:a", timedelta(0), NOW)
    with pytest.raises(ValueError):
        issue_token(SECRET, "", "user:a", HOUR, NOW)
