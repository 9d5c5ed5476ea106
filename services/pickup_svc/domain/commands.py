"""Commands pickup_svc accepts, as plain values decoded from the wire by the handler layer.

Fields carry what the sender wrote (untrimmed, unchecked); the service functions validate them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class ArrangePickup:
    """`pickup.arrange` ("Atur Pengiriman"): ask the courier to pick the order up."""

    type: ClassVar[str] = "pickup.arrange"

    order_id: str
    courier: str
    payment_type: str
    invoice_no: str | None = None
    payment_nos: tuple[str, ...] = ()
    pickup_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RequestCancel:
    """`pickup.cancel.requested`: the seller asks an admin to cancel the pickup."""

    type: ClassVar[str] = "pickup.cancel.requested"

    order_id: str
    reason: str
    origin: str
    reason_code: str | None = None


@dataclass(frozen=True, slots=True)
class DecideCancel:
    """`pickup.cancel.decide`: an admin approves or rejects the open cancellation request."""

    type: ClassVar[str] = "pickup.cancel.decide"

    order_id: str
    decision: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateStatus:
    """`pickup.status`: the courier reports progress on an airway bill."""

    type: ClassVar[str] = "pickup.status"

    order_id: str
    awb: str
    status: str


@dataclass(frozen=True, slots=True)
class RetryVoid:
    """`pickup.void.retry`: an admin asks the courier again to void the bill."""

    type: ClassVar[str] = "pickup.void.retry"

    order_id: str


@dataclass(frozen=True, slots=True)
class MarkVoided:
    """`pickup.void.mark`: an admin records that the bill was voided outside lunas, and how."""

    type: ClassVar[str] = "pickup.void.mark"

    order_id: str
    reason: str


Command = ArrangePickup | RequestCancel | DecideCancel | UpdateStatus | RetryVoid | MarkVoided
