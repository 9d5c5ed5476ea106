"""Feed tokens: standard JWTs; only a genuine, unexpired token for this API names a principal, and
a key retired from signing keeps verifying while it is listed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from services.notify_svc.tokens import (
    AUDIENCE,
    ISSUER,
    InvalidToken,
    TokenConfigError,
    TokenKeys,
    issue_token,
    key_id,
    parse_retired,
    verify_token,
)

SECRET = "s3cret-for-tests-only-0123456789"
OLD_SECRET = "the-previous-secret-0123456789abcdef"
NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
KEYS = TokenKeys.of(SECRET)


def test_a_fresh_token_names_its_tenant_and_user() -> None:
    token = issue_token(KEYS, "dist-1", "user:seller-17", HOUR, NOW)
    principal = verify_token(KEYS, token, NOW + timedelta(minutes=59))
    assert (principal.tenant, principal.user) == ("dist-1", "user:seller-17")
    assert principal.expires_at == NOW + HOUR


def test_it_is_a_standard_hs256_jwt_with_kid_audience_and_issuer() -> None:
    token = issue_token(KEYS, "dist-1", "user:seller-17", HOUR, NOW)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "HS256", "typ": "JWT", "kid": key_id(SECRET.encode())}
    claims = jwt.decode(
        token, SECRET, algorithms=["HS256"], audience=AUDIENCE, options={"verify_exp": False}
    )
    assert claims == {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user:seller-17",
        "tenant": "dist-1",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + HOUR).timestamp()),
    }
    assert SECRET not in header["kid"]


def test_an_expired_token_is_refused() -> None:
    token = issue_token(KEYS, "dist-1", "user:a", HOUR, NOW)
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(KEYS, token, NOW + HOUR)


def test_a_token_signed_with_a_retired_key_verifies_while_it_is_listed() -> None:
    before_rotation = issue_token(TokenKeys.of(OLD_SECRET), "dist-1", "user:a", HOUR, NOW)
    rotated = TokenKeys.of(SECRET, [OLD_SECRET])
    assert verify_token(rotated, before_rotation, NOW).user == "user:a"
    # New tokens are signed with the new key only.
    fresh = issue_token(rotated, "dist-1", "user:a", HOUR, NOW)
    assert jwt.get_unverified_header(fresh)["kid"] == key_id(SECRET.encode())
    with pytest.raises(InvalidToken, match="unknown key"):
        verify_token(TokenKeys.of(OLD_SECRET), fresh, NOW)
    # Once it is dropped from the list, its tokens stop working.
    with pytest.raises(InvalidToken, match="unknown key"):
        verify_token(TokenKeys.of(SECRET), before_rotation, NOW)


def test_a_token_of_an_unknown_key_is_refused() -> None:
    token = issue_token(
        TokenKeys.of("another-secret-of-32-bytes-or-more!"), "d", "user:a", HOUR, NOW
    )
    with pytest.raises(InvalidToken, match="unknown key"):
        verify_token(KEYS, token, NOW)


def _forge(claims: dict[str, Any], *, key: str = SECRET, **header: Any) -> str:
    kid = header.pop("kid", key_id(key.encode()))
    return jwt.encode(claims, key, algorithm=header.pop("alg", "HS256"), headers={"kid": kid})


GOOD = {
    "iss": ISSUER,
    "aud": AUDIENCE,
    "sub": "user:a",
    "tenant": "dist-1",
    "iat": int(NOW.timestamp()),
    "exp": int((NOW + HOUR).timestamp()),
}


@pytest.mark.parametrize(
    "claims",
    [
        {**GOOD, "aud": "someone-elses-api"},
        {**GOOD, "iss": "not-lunas"},
        {k: v for k, v in GOOD.items() if k != "tenant"},
        {k: v for k, v in GOOD.items() if k != "exp"},
        {**GOOD, "sub": " user:a"},
        {**GOOD, "exp": "tomorrow"},
    ],
    ids=["audience", "issuer", "no-tenant", "no-exp", "untrimmed-user", "exp-not-int"],
)
def test_a_correctly_signed_token_with_wrong_claims_is_refused(claims: dict[str, Any]) -> None:
    with pytest.raises(InvalidToken):
        verify_token(KEYS, _forge(claims), NOW)


@pytest.mark.filterwarnings("ignore:The HMAC key")  # forging HS512 with our 32-byte key
def test_a_known_kid_on_another_key_or_algorithm_is_refused() -> None:
    with pytest.raises(InvalidToken):
        verify_token(KEYS, _forge(GOOD, key="x" * 40, kid=KEYS.signing_kid), NOW)
    with pytest.raises(InvalidToken):
        verify_token(KEYS, _forge(GOOD, alg="HS512"), NOW)
    unsigned = jwt.encode(GOOD, None, algorithm="none", headers={"kid": KEYS.signing_kid})
    with pytest.raises(InvalidToken):
        verify_token(KEYS, unsigned, NOW)


def test_changing_the_tenant_breaks_the_signature() -> None:
    header, _, signature = issue_token(KEYS, "dist-1", "user:a", HOUR, NOW).split(".")
    other_payload = _forge({**GOOD, "tenant": "dist-2"}).split(".")[1]
    with pytest.raises(InvalidToken):
        verify_token(KEYS, f"{header}.{other_payload}.{signature}", NOW)


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b", "a.b.c", "..", "!!!.???.!!!", "x" * 5000, "eyJ2IjoxfQ.e30."]
)
def test_garbage_is_refused_as_invalid_token(token: str) -> None:
    with pytest.raises(InvalidToken):
        verify_token(KEYS, token, NOW)


def test_an_alternative_spelling_of_the_signature_is_refused() -> None:
    token = issue_token(KEYS, "dist-1", "user:a", HOUR, NOW)
    assert verify_token(KEYS, token, NOW).user == "user:a"
    with pytest.raises(InvalidToken):
        verify_token(KEYS, token + "=", NOW)


@pytest.mark.parametrize("secret", [None, "", "   ", "short", "x" * 31])
def test_no_secret_or_a_short_one_is_a_configuration_error(secret: str | None) -> None:
    with pytest.raises(TokenConfigError, match="LUNAS_FEED_TOKEN_SECRET"):
        TokenKeys.of(secret)


def test_a_short_retired_secret_is_a_configuration_error_too() -> None:
    with pytest.raises(TokenConfigError, match="LUNAS_FEED_TOKEN_RETIRED_SECRETS"):
        TokenKeys.of(SECRET, ["too-short"])


def test_retired_secrets_are_a_comma_separated_list() -> None:
    assert parse_retired(None) == [] and parse_retired(" , ") == []
    assert parse_retired(f"{OLD_SECRET}, {SECRET} ,") == [OLD_SECRET, SECRET]


def test_non_positive_ttl_and_blank_names_are_refused() -> None:
    with pytest.raises(ValueError, match="ttl"):
        issue_token(KEYS, "dist-1", "user:a", timedelta(0), NOW)
    with pytest.raises(ValueError):
        issue_token(KEYS, "", "user:a", HOUR, NOW)
