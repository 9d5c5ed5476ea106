"""pickup_svc's unit of work: a batch's orders, locked, decided on, written back.

- ``prepare`` (before the transaction, no row locks held): asks the courier gateway for an
  airway bill for each ``pickup.arrange`` that may be accepted, and checks in one query that no
  order holds those numbers yet (asking again, a few times, for one that is taken). A command
  that the current state refuses for sure gets no bill, so a refusal wastes none.
- ``load``: every order the batch names, ``FOR UPDATE`` in (tenant, order) order, with its
  payments, bills and requests (``load_orders``: one query per table).
- Handlers read and stage orders in the identity map; ``flush`` saves each changed order.
- ``void_bill`` asks the courier to void a bill, inside the transaction with the order locked:
  unlike a new bill (wasted at worst), a void is final at the courier, so it is asked only once
  the locked order shows it is due (a concurrent decision cannot undo it behind our back). The
  courier must treat a repeated void as done: a retried batch asks again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas import Envelope
from services.common.runtime.seam import Connection, LostRace, Name, Ref, cause_key, meta_of
from services.pickup_svc.adapters.postgres import StoredOrder, awbs_taken, load_orders, save_orders
from services.pickup_svc.courier import CourierGateway
from services.pickup_svc.domain.commands import ArrangePickup
from services.pickup_svc.domain.model import AirwayBill, Order
from services.pickup_svc.domain.services import check_arrange
from services.pickup_svc.domain.voiding import VoidOutcome

Key = tuple[str, str]  # (tenant_id, order_id)

# A fresh number from the gateway that another order already holds is asked for again, a few times.
AWB_ATTEMPTS = 3


class GatewayBroken(RuntimeError):
    """The courier gateway keeps returning airway bills already in use."""


@dataclass(frozen=True, slots=True)
class PickupDependencies:
    """What pickup_svc's handlers need besides the orders: built once, by ``bootstrap``."""

    courier: CourierGateway
    admins: frozenset[str]


class PickupUnitOfWork:
    """The orders of one batch; see the module docstring. ``names`` and ``command`` are the
    command table's (``handlers.TABLE``): what each message names, and its domain command."""

    def __init__(
        self,
        conn: Connection,
        now: datetime,
        deps: PickupDependencies,
        *,
        names: Callable[[Envelope], Iterable[Name]],
        command: Callable[[Envelope], Any],
    ) -> None:
        self._conn = conn
        self._now = now
        self._names = names
        self._command = command
        self.admins = deps.admins
        self._courier = deps.courier
        self._loaded: dict[Key, StoredOrder] = {}
        self._orders: dict[Key, Order] = {}
        self._journal: list[tuple[Key, Order | None]] = []
        self._bills: dict[
            str, str | None
        ] = {}  # cause key of an arrange → its bill (None: none free)

    # --- the runtime's side ----------------------------------------------------------------

    def prepare(self, messages: Sequence[Envelope]) -> None:
        arranges = [(m, cmd) for m in messages if (cmd := self._arrange(m)) is not None]
        if not arranges:
            return
        named: dict[Key, int] = {}
        for key in self._keys(messages):
            named[key] = named.get(key, 0) + 1
        current = load_orders(self._conn, named, lock=False)
        wanted: list[tuple[str, ArrangePickup, str]] = []
        for msg, cmd in arranges:
            key = (msg.tenantid, cmd.order_id)
            stored = current.get(key)
            meta = meta_of(msg, self._now)
            # Only when nothing else in the batch touches the order is today's refusal final.
            if named[key] == 1 and check_arrange(stored.order if stored else None, cmd, meta):
                continue
            wanted.append((cause_key(msg), cmd, msg.tenantid))
        self._bills = self._free_bills(wanted)

    def _free_bills(self, wanted: list[tuple[str, ArrangePickup, str]]) -> dict[str, str | None]:
        bills: dict[str, str | None] = {}
        pending = wanted
        for _ in range(AWB_ATTEMPTS):
            asked = {
                cause: self._courier.new_airway_bill(
                    courier=cmd.courier, order_id=cmd.order_id, tenant_id=tenant
                )
                for cause, cmd, tenant in pending
            }
            taken = awbs_taken(self._conn, asked.values())
            seen: set[str] = set()
            for cause, awb in asked.items():
                if awb not in taken and awb not in seen:
                    bills[cause] = awb
                    seen.add(awb)
            pending = [w for w in pending if w[0] not in bills]
            if not pending:
                break
        bills.update({cause: None for cause, _, _ in pending})
        return bills

    def load(self, messages: Sequence[Envelope]) -> None:
        self.load_keys(set(self._keys(messages)))

    def _keys(self, messages: Sequence[Envelope]) -> list[Key]:
        return [
            (m.tenantid, id_) for m in messages for kind, id_ in self._names(m) if kind == "order"
        ]

    def _arrange(self, msg: Envelope) -> ArrangePickup | None:
        if msg.type != ArrangePickup.type:
            return None
        try:
            cmd = self._command(msg)
        except (TypeError, ValueError):  # the handler meets that failure itself
            return None
        return cmd if isinstance(cmd, ArrangePickup) else None

    def load_keys(self, keys: set[Key]) -> None:
        """Lock and read these orders (the deadline timer names orders, not messages)."""
        self._loaded = load_orders(self._conn, keys, lock=True)
        self._orders = {k: s.order for k, s in self._loaded.items()}

    def mark(self) -> object:
        return len(self._journal)

    def undo(self, mark: object) -> None:
        assert isinstance(mark, int)
        while len(self._journal) > mark:
            key, before = self._journal.pop()
            if before is None:
                self._orders.pop(key, None)
            else:
                self._orders[key] = before

    def flush(self) -> None:
        keys = sorted({k for k, _ in self._journal})
        changes = [(self._loaded.get(k), self._orders[k]) for k in keys]
        save_orders(self._conn, changes, at=self._now)

    # --- the handlers' side ----------------------------------------------------------------

    def order(self, tenant_id: str, order_id: str) -> Order | None:
        return self._orders.get((tenant_id, order_id))

    def exists(self, ref: Ref) -> bool:
        return ref.kind == "order" and (ref.tenant_id, ref.id) in self._orders

    def stage(self, order: Order) -> None:
        key = (order.tenant_id, order.order_id)
        self._journal.append((key, self._orders.get(key)))
        self._orders[key] = order

    def void_bill(self, order: Order, bill: AirwayBill) -> VoidOutcome:
        """Ask the courier to void ``bill`` of the locked ``order`` now."""
        return self._courier.void_airway_bill(
            courier=bill.courier, awb=bill.awb, order_id=order.order_id, tenant_id=order.tenant_id
        )

    def airway_bill(self, cause: str) -> str:
        """The bill ``prepare`` obtained for the arrange command of ``cause`` (its cause key)."""
        if cause not in self._bills:
            # The order changed since ``prepare`` looked (another instance): decide again.
            raise LostRace(f"no airway bill was asked for {cause}: the order changed meanwhile")
        awb = self._bills[cause]
        if awb is None:
            raise GatewayBroken(
                f"the courier gateway returned {AWB_ATTEMPTS} airway bills already in use"
            )
        return awb
