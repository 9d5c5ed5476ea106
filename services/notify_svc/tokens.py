"""Feed API bearer tokens: `base64url(payload).base64url(HMAC-SHA256)` naming a tenant and a user.

Stateless and short-lived; the clock is passed in. A token's `user` is a feed recipient exactly as
notify_svc writes it (`user:<id>`, `admin:<id>` or `tenant:<tenantid>` for the tenant feed).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeGuard

MIN_SECRET_BYTES = 16
MAX_TOKEN_CHARS = 2048
_MAX_NAME_CHARS = 200
_VERSION = 1
# Domain separation: a MAC made for anything else with the same secret is never a feed token.
_CONTEXT = b"lunas.feed-token.v1."


class InvalidToken(Exception):
    """Missing, malformed, forged or expired token; the reason is for logs, never for the client."""


@dataclass(frozen=True, slots=True)
class Principal:
    tenant: str
    user: str
    expires_at: datetime


def _secret_bytes(secret: str | bytes) -> bytes:
    raw = secret.encode() if isinstance(secret, str) else secret
    if len(raw) < MIN_SECRET_BYTES:
        raise ValueError(f"feed token secret must be at least {MIN_SECRET_BYTES} bytes")
    return raw


def check_secret(secret: str | bytes) -> None:
    """Raise ValueError when `secret` is too weak to sign tokens (checked once at start-up)."""
    _secret_bytes(secret)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("not base64url") from exc
    if _b64(raw) != text:  # one token, one spelling: no alternative encodings of the same bytes
        raise InvalidToken("non-canonical base64url")
    return raw


def _sign(secret: bytes, payload_part: str) -> bytes:
    return hmac.new(secret, _CONTEXT + payload_part.encode(), hashlib.sha256).digest()


def _valid_name(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= _MAX_NAME_CHARS and value == value.strip()


def issue_token(secret: str | bytes, tenant: str, user: str, ttl: timedelta, now: datetime) -> str:
    """A token for `user` of `tenant`, valid from `now` for `ttl`."""
    if ttl <= timedelta(0):
        raise ValueError("token ttl must be positive")
    if not (_valid_name(tenant) and _valid_name(user)):
        raise ValueError("tenant and user must be non-empty, trimmed, at most 200 chars")
    expires = int((now + ttl).timestamp())
    payload = {"v": _VERSION, "t": tenant, "u": user, "exp": expires}
    payload_part = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{payload_part}.{_b64(_sign(_secret_bytes(secret), payload_part))}"


def verify_token(secret: str | bytes, token: str, now: datetime) -> Principal:
    """The principal a genuine, unexpired token names; `InvalidToken` otherwise."""
    key = _secret_bytes(secret)
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise InvalidToken("malformed")
    payload_part, sig_part = token.split(".")
    if not hmac.compare_digest(_unb64(sig_part), _sign(key, payload_part)):
        raise InvalidToken("bad signature")
    try:
        payload = json.loads(_unb64(payload_part))
    except ValueError as exc:
        raise InvalidToken("payload is not JSON") from exc
    if not isinstance(payload, dict) or payload.get("v") != _VERSION:
        raise InvalidToken("unknown token version")
    tenant, user, exp = payload.get("t"), payload.get("u"), payload.get("exp")
    if not (_valid_name(tenant) and _valid_name(user)) or type(exp) is not int:
        raise InvalidToken("incomplete payload")
    expires_at = datetime.fromtimestamp(exp, UTC)
    if now >= expires_at:
        raise InvalidToken("expired")
    return Principal(tenant=tenant, user=user, expires_at=expires_at)
