"""Pickup read routes for admins: one order with its whole history, and orders by status.

Mounted by the read API app (``app.include_router(router)``); the app sets
``app.state.pickup_reads`` to a ``PickupReads``. A bearer token (services/notify_svc/tokens.py)
must name a pickup admin or supervisor (``admin:<id>``); a reader sees only the tenant its token
names (another tenant's order is a 404): the read API never crosses tenants, the CLI may.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.common.domain import is_admin
from services.notify_svc.tokens import InvalidToken, Principal, TokenKeys, verify_token
from services.pickup_svc.adapters.queries import STATES, list_orders, order_view


@dataclass(frozen=True, slots=True)
class PickupReads:
    """What the routes need: a connection to the pickup schema, token keys, who is an admin."""

    connect: Callable[[], AbstractContextManager[psycopg.Connection[Any]]]
    token_keys: TokenKeys
    admins: frozenset[str]
    clock: Callable[[], datetime]


router = APIRouter(prefix="/v1/pickup", tags=["pickup"])
_BEARER = HTTPBearer(auto_error=False)


def _reads(request: Request) -> PickupReads:
    reads: PickupReads = request.app.state.pickup_reads
    return reads


Reads = Annotated[PickupReads, Depends(_reads)]


def pickup_admin(
    reads: Reads,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> Principal:
    """The admin a valid token names: 401 without a valid token, 403 for a non-admin."""
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a bearer token is required")
    try:
        principal = verify_token(reads.token_keys, credentials.credentials, reads.clock())
    except InvalidToken:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token") from None
    if not is_admin(principal.user, reads.admins):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a pickup admin may read orders")
    return principal


Admin = Annotated[Principal, Depends(pickup_admin)]


@router.get("/orders/{order_id}")
def get_order(order_id: str, admin: Admin, reads: Reads) -> dict[str, Any]:
    """The order, its bills and requests, and its whole history."""
    with reads.connect() as conn:
        view = order_view(conn, admin.tenant, order_id)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"order {order_id} not found")
    return view


@router.get("/orders")
def get_orders(
    admin: Admin,
    reads: Reads,
    state: Annotated[str, Query(alias="status")],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """The tenant's orders in ``status`` (e.g. ``cancel_pending``), oldest change first."""
    if state not in STATES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            f"status must be one of {', '.join(sorted(STATES))}",
        )
    with reads.connect() as conn:
        orders = list_orders(conn, status=state, tenant_id=admin.tenant, limit=limit)
    return {"orders": orders}
