"""pickup_svc's orders over a dictionary: what the unit tests and the chaos oracle decide on
through the very dispatch production runs (``handlers.TABLE``), with no database; airway bills
are numbered in order, voids answered by ``void``."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from services.common.runtime.seam import Ref
from services.pickup_svc.courier import LocalCourierGateway
from services.pickup_svc.domain.model import AirwayBill, Order
from services.pickup_svc.domain.voiding import VoidBill, VoidOutcome

Key = tuple[str, str]  # (tenant_id, order_id)


def _local_void(order: Order, bill: AirwayBill) -> VoidOutcome:
    # The local gateway voids every bill it is asked to.
    return LocalCourierGateway().void_airway_bill(
        courier=bill.courier, awb=bill.awb, order_id=order.order_id, tenant_id=order.tenant_id
    )


@dataclass
class MemoryOrders:
    admins: frozenset[str] = frozenset()
    orders: dict[Key, Order] = field(default_factory=dict)
    void: VoidBill = _local_void
    bill_prefix: str = "MEM"
    _bills: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def order(self, tenant_id: str, order_id: str) -> Order | None:
        return self.orders.get((tenant_id, order_id))

    def exists(self, ref: Ref) -> bool:
        return ref.kind == "order" and (ref.tenant_id, ref.id) in self.orders

    def stage(self, order: Order) -> None:
        self.orders[(order.tenant_id, order.order_id)] = order

    def airway_bill(self, cause: str) -> str:
        return f"{self.bill_prefix}-{next(self._bills)}"

    def void_bill(self, order: Order, bill: AirwayBill) -> VoidOutcome:
        return self.void(order, bill)
