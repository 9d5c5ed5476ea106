"""Pickup read routes for admins: one order with its whole history, and orders by status.

One of the read API's routers (``services/readapi/app.py``), with its token check
(``services/readapi/auth.py``): the token must name a pickup admin or supervisor
(``admin:<id>``); it reads the tenant its token names (another tenant's order is a 404), or any
tenant for a token issued for every tenant (``--tenant '*'``), as the payment routes do.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from services.pickup_svc.adapters.queries import STATES, list_orders, order_view
from services.readapi.auth import Admin, admin_of
from services.readapi.db import Db

router = APIRouter(prefix="/v1/pickup", tags=["pickup"])
PickupAdmin = Annotated[Admin, admin_of("pickup")]


@router.get("/orders/{order_id}")
def get_order(
    order_id: str, admin: PickupAdmin, db: Db, tenant: str | None = None
) -> dict[str, Any]:
    """The order, its bills and requests, and its whole history (``tenant``: for a token of
    every tenant, which one)."""
    scope = admin.scope(tenant)
    if scope is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "name the tenant (?tenant=)")
    view = order_view(db, scope, order_id)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"order {order_id} not found")
    return view


@router.get("/orders")
def get_orders(
    admin: PickupAdmin,
    db: Db,
    state: Annotated[str, Query(alias="status")],
    tenant: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """The tenant's orders in ``status`` (e.g. ``cancel_pending``), oldest change first."""
    if state not in STATES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            f"status must be one of {', '.join(sorted(STATES))}",
        )
    orders = list_orders(db, status=state, tenant_id=admin.scope(tenant), limit=limit)
    return {"orders": orders}
