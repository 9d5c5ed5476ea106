"""Feed API bearer tokens: JWTs (RFC 7519, HS256) naming a tenant and a user, with key rotation.

A token carries `iss` = `lunas`, `aud` = `lunas-feed-api`, `sub` = the feed recipient exactly as
notify_svc writes it (`user:<id>`, `admin:<id>` or `tenant:<tenantid>`), `tenant`, `iat` and `exp`;
its header names the key that signed it (`kid`). One key signs (`LUNAS_FEED_TOKEN_SECRET`); keys
retired from signing (`LUNAS_FEED_TOKEN_RETIRED_SECRETS`) still verify, so a rotation signs no
reader out: sign with the new secret, list the old one as retired until its tokens expired
(`LUNAS_FEED_TOKEN_TTL_SECONDS`), then drop it. A key's `kid` is a fingerprint of its secret, so
no id has to be kept in step with a secret. Secrets are at least 32 bytes; there is no default.
The clock is passed in; PyJWT's own clock checks are off and done here against it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

import jwt

MIN_SECRET_BYTES = 32
MAX_TOKEN_CHARS = 2048
ISSUER = "lunas"
AUDIENCE = "lunas-feed-api"
ALGORITHM = "HS256"
# Names of the settings, for messages (not secrets).
SECRET_SETTING = "LUNAS_FEED_TOKEN_SECRET"  # noqa: S105
RETIRED_SETTING = "LUNAS_FEED_TOKEN_RETIRED_SECRETS"
_MAX_NAME_CHARS = 200
_JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
_REQUIRED_CLAIMS = ["iss", "aud", "sub", "tenant", "iat", "exp"]
# Time claims are checked against the injected clock below, not PyJWT's.
_DECODE_OPTIONS: Any = {
    "require": _REQUIRED_CLAIMS,
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
}


class TokenConfigError(ValueError):
    """The token keys are missing or too weak: the process must not start."""


class InvalidToken(Exception):
    """Missing, malformed, forged or expired token; the reason is for logs, never for the client."""


@dataclass(frozen=True, slots=True)
class Principal:
    tenant: str
    user: str
    expires_at: datetime


def key_id(secret: bytes) -> str:
    """The `kid` of a key: a fingerprint that names it without revealing it."""
    return hashlib.sha256(b"lunas.feed-token.kid." + secret).hexdigest()[:16]


def _secret_bytes(secret: str | bytes, setting: str) -> bytes:
    raw = secret.encode() if isinstance(secret, str) else secret
    if len(raw) < MIN_SECRET_BYTES:
        raise TokenConfigError(
            f"{setting} is too short ({len(raw)} bytes): a feed token secret must be at least "
            f"{MIN_SECRET_BYTES} bytes, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )
    return raw


@dataclass(frozen=True, slots=True)
class TokenKeys:
    """The signing key and every key that verifies (the signing one and the retired ones)."""

    signing_kid: str
    verifying: Mapping[str, bytes]

    @classmethod
    def of(cls, secret: str | bytes | None, retired: Iterable[str | bytes] = ()) -> TokenKeys:
        """Keys from the signing secret and the retired ones; `TokenConfigError` when unusable."""
        if secret is None or not (secret.strip() if isinstance(secret, str) else secret):
            raise TokenConfigError(
                f"{SECRET_SETTING} is not set: the feed API, `lunas token` and notify_svc need a "
                f"secret of at least {MIN_SECRET_BYTES} bytes to sign and check feed tokens, "
                "e.g. the output of `python -c 'import secrets; print(secrets.token_urlsafe(48))'` "
                "(`lunas run` generates one per data directory)"
            )
        signing = _secret_bytes(secret, SECRET_SETTING)
        keys = {key_id(signing): signing}
        for old in retired:
            raw = _secret_bytes(old, RETIRED_SETTING)
            keys.setdefault(key_id(raw), raw)
        return cls(key_id(signing), keys)

    @property
    def signing_key(self) -> bytes:
        return self.verifying[self.signing_kid]


def parse_retired(value: str | None) -> list[str]:
    """`LUNAS_FEED_TOKEN_RETIRED_SECRETS`: comma-separated secrets, blanks ignored."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _valid_name(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= _MAX_NAME_CHARS and value == value.strip()


def issue_token(keys: TokenKeys, tenant: str, user: str, ttl: timedelta, now: datetime) -> str:
    """A token for `user` of `tenant`, valid from `now` for `ttl`, signed with the signing key."""
    if ttl <= timedelta(0):
        raise ValueError("token ttl must be positive")
    if not (_valid_name(tenant) and _valid_name(user)):
        raise ValueError("tenant and user must be non-empty, trimmed, at most 200 chars")
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user,
        "tenant": tenant,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(
        claims, keys.signing_key, algorithm=ALGORITHM, headers={"kid": keys.signing_kid}
    )


def _canonical(token: str) -> bool:
    """One token, one spelling: no padding, no alternative encodings of the same bytes."""
    if not _JWT_SHAPE.match(token):
        return False
    try:
        parts = [jwt.utils.base64url_decode(part) for part in token.split(".")]
    except ValueError:
        return False
    return [jwt.utils.base64url_encode(p).decode() for p in parts] == token.split(".")


def _claims(keys: TokenKeys, token: str) -> dict[str, Any]:
    if not token or len(token) > MAX_TOKEN_CHARS or not _canonical(token):
        raise InvalidToken("malformed")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed header") from exc
    kid = header.get("kid")
    key = keys.verifying.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidToken("unknown key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options=_DECODE_OPTIONS,
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"rejected: {type(exc).__name__}") from exc
    return claims


def verify_token(keys: TokenKeys, token: str, now: datetime) -> Principal:
    """The principal a genuine, unexpired token names; `InvalidToken` otherwise."""
    claims = _claims(keys, token)
    tenant, user, exp = claims.get("tenant"), claims.get("sub"), claims.get("exp")
    if not (_valid_name(tenant) and _valid_name(user)) or type(exp) is not int:
        raise InvalidToken("incomplete claims")
    expires_at = datetime.fromtimestamp(exp, UTC)
    if now >= expires_at:
        raise InvalidToken("expired")
    return Principal(tenant=tenant, user=user, expires_at=expires_at)
