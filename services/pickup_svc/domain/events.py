"""Events pickup_svc emits and the payment commands it derives, with the contract's field names.

`dataclasses.asdict(x)` is the wire `data`; `type` is a class attribute and so not part of it.
The envelope's `subject` is the contract's aggregate field (`seam.subject_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class PickupArranged:
    """A new airway bill was assigned; `previous_awb` is the bill it replaces, if any."""

    type: ClassVar[str] = "pickup.arranged"

    order_id: str
    awb: str
    previous_awb: str | None
    courier: str
    payment_type: str


@dataclass(frozen=True, slots=True)
class CancelPending:
    """The seller's cancellation request is recorded and waits for an admin."""

    type: ClassVar[str] = "pickup.cancel.pending"

    request_id: str
    order_id: str
    reason: str
    reason_code: str | None
    origin: str
    requested_by: str


@dataclass(frozen=True, slots=True)
class CancelDecided:
    """A cancellation request was approved or rejected; `voided_awb` is set on approval only."""

    type: ClassVar[str] = "pickup.cancel.decided"

    request_id: str
    order_id: str
    decision: str
    reason: str | None
    requested_reason: str
    requested_by: str
    decided_by: str
    decided_at: datetime
    voided_awb: str | None
    voided_by: str | None = None
    void_note: str | None = None


@dataclass(frozen=True, slots=True)
class StatusUpdated:
    """The courier moved the parcel on (picked up, in transit, delivered)."""

    type: ClassVar[str] = "pickup.status.updated"

    order_id: str
    awb: str
    status: str


@dataclass(frozen=True, slots=True)
class _Undecided:
    """A cancellation request still waiting for its decision, as its timers tell of it."""

    request_id: str
    order_id: str
    requested_reason: str
    requested_by: str
    requested_at: datetime
    deadline: datetime


@dataclass(frozen=True, slots=True)
class CancelReminder(_Undecided):
    """Half the decision time has passed: the admins are reminded."""

    type: ClassVar[str] = "pickup.cancel.reminder"


@dataclass(frozen=True, slots=True)
class CancelEscalated(_Undecided):
    """The decision deadline passed: the supervisors are asked."""

    type: ClassVar[str] = "pickup.cancel.escalated"

    supervisors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VoidFailed:
    """The courier did not void the bill of an approved cancellation."""

    type: ClassVar[str] = "pickup.void.failed"

    request_id: str
    order_id: str
    awb: str
    courier: str
    answer: str
    attempts: int
    approved_by: str
    requested_by: str


PickupEvent = (
    PickupArranged
    | CancelPending
    | CancelDecided
    | StatusUpdated
    | CancelReminder
    | CancelEscalated
    | VoidFailed
)


@dataclass(frozen=True, slots=True)
class VoidInvoice:
    """`invoice.void` for payment_svc: the order's invoice dies with its cancelled pickup."""

    type: ClassVar[str] = "invoice.void"

    invoice_no: str
    order_id: str  # payment_svc refuses if the invoice is not this order's
    reason: str

    @property
    def key(self) -> str:
        """Unique among the commands of one approval; the caller prefixes the request id."""
        return f"invoice.void:{self.invoice_no}"


@dataclass(frozen=True, slots=True)
class ReleasePayment:
    """`payment.release` for payment_svc: the payment goes back from "used" to "unused"."""

    type: ClassVar[str] = "payment.release"

    payment_no: str
    invoice_no: str
    order_id: str  # payment_svc refuses if the invoice is not this order's
    reason: str

    @property
    def key(self) -> str:
        """Unique among the commands of one approval; the caller prefixes the request id."""
        return f"payment.release:{self.payment_no}:{self.invoice_no}"


PaymentCommand = VoidInvoice | ReleasePayment
