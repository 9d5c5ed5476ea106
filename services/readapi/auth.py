"""Who may read the back-office read API: an admin of the service whose routes they call.

A bearer token is verified exactly as the feed API does (``services.notify_svc.tokens``: same
keys, issuer and audience); ``lunas token issue --tenant T --user admin:<id>`` mints one. Its
``sub`` must be ``admin:<id>`` with ``<id>`` in that service's admin set (``LUNAS_PAYMENT_ADMINS``,
``LUNAS_PICKUP_ADMINS``), else 403. Its ``tenant`` claim scopes every read to that tenant;
``*`` (``--tenant '*'``) is an admin across tenants, as the admin sets themselves are.
A missing, forged or expired token is 401.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.common.domain import ADMIN_PREFIX
from services.notify_svc.tokens import InvalidToken, TokenKeys, verify_token

ALL_TENANTS = "*"
_BEARER = HTTPBearer(auto_error=False, description="Token from `lunas token issue`")


@dataclass(frozen=True, slots=True)
class Admin:
    """The admin a valid token names, and the tenant its reads are limited to (None: all)."""

    actor: str
    tenant: str | None

    def scope(self, asked: str | None) -> str | None:
        """The tenant to read: ``asked`` if this admin may read it, else 403."""
        if self.tenant is None:
            return asked
        if asked not in (None, self.tenant):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"token is for tenant {self.tenant}")
        return self.tenant

    def sees(self, tenant: str) -> bool:
        return self.tenant is None or self.tenant == tenant


@dataclass(frozen=True, slots=True)
class AuthConfig:
    keys: TokenKeys
    clock: Callable[[], datetime]
    # Service name ("payment", "pickup") → the ids of its admins.
    admins: Mapping[str, frozenset[str]]


def admin_of(service: str) -> Any:
    """A FastAPI dependency: the ``Admin`` of a valid token naming an admin of ``service``."""

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> Admin:
        config: AuthConfig = request.app.state.auth
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "bearer token required", challenge)
        try:
            who = verify_token(config.keys, credentials.credentials, config.clock())
        except InvalidToken as exc:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "invalid or expired token", challenge
            ) from exc
        admin_id = who.user.removeprefix(ADMIN_PREFIX)
        if not who.user.startswith(ADMIN_PREFIX) or admin_id not in config.admins.get(
            service, frozenset()
        ):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"only a {service} admin may read {service} data"
            )
        return Admin(who.user, None if who.tenant == ALL_TENANTS else who.tenant)

    return Depends(dependency)
