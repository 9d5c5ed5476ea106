"""What an accepted pickup command decides: the order after it and what to emit."""

from __future__ import annotations

from dataclasses import dataclass

from services.pickup_svc.domain.events import PaymentCommand, PickupEvent
from services.pickup_svc.domain.model import Order


@dataclass(frozen=True, slots=True)
class Decision:
    """An accepted command: the order after it, what to emit, and what to ask payment_svc.

    No events means the command changed nothing (e.g. a status for a voided airway bill).
    """

    order: Order
    events: tuple[PickupEvent, ...] = ()
    derived_commands: tuple[PaymentCommand, ...] = ()
