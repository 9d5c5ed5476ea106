"""Payment routes of the read API: the same list as ``lunas payment list`` and one payment with
its allocations and whole history as ``lunas payment show`` (payment admins only)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from services.payment_svc.adapters.listing import MAX_LIMIT, PaymentFilter, list_payments
from services.payment_svc.adapters.queries import payment_view
from services.payment_svc.domain.model import PaymentMethod, PaymentStatus
from services.readapi.auth import Admin, admin_of
from services.readapi.db import Db

router = APIRouter(prefix="/v1/payments", tags=["payments"])
PaymentAdmin = Annotated[Admin, admin_of("payment")]


@router.get("")
def payments(
    admin: PaymentAdmin,
    db: Db,
    tenant: str | None = None,
    status_: Annotated[PaymentStatus | None, Query(alias="status")] = None,
    method: PaymentMethod | None = None,
    due_before: Annotated[date | None, Query(description="giros due on or before")] = None,
    customer: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 200,
) -> dict[str, Any]:
    """Payments by status, method and giro due date; every tenant the token may read."""
    wanted = PaymentFilter(
        tenant_id=admin.scope(tenant),
        status=status_,
        method=method,
        due_before=due_before,
        customer_id=customer,
        limit=limit,
    )
    return {"payments": list_payments(db, wanted)}


@router.get("/{tenant}/{payment_no}")
def payment(admin: PaymentAdmin, db: Db, tenant: str, payment_no: str) -> dict[str, Any]:
    """One payment: status, allocations, status and allocation history, waiting commands, and
    the customer's bounced giros. Another tenant's (or an unknown) payment is 404."""
    view = payment_view(db, tenant, payment_no) if admin.sees(tenant) else None
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "payment not found")
    return view
