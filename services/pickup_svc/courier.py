"""The courier gateway: a port that issues and voids airway bills, and a local default adapter.

A real courier integration implements `CourierGateway`; the local one mints numbers and voids
them, and can be told to fail the void of chosen bills (with the answer a courier would give).
A void must be idempotent at the courier: a retried batch may ask for the same void twice.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from typing import Protocol

from services.pickup_svc.domain.voiding import VoidOutcome

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_FALLBACK_PREFIX = "AWB"


class CourierGateway(Protocol):
    """Asks a courier for a new airway bill (resi) for an order's pickup."""

    def new_airway_bill(self, *, courier: str, order_id: str, tenant_id: str) -> str: ...

    def void_airway_bill(
        self, *, courier: str, awb: str, order_id: str, tenant_id: str
    ) -> VoidOutcome: ...


def _random_64_bits() -> int:
    return secrets.randbits(64)


class LocalCourierGateway:
    """Mints `<COURIER>-<13 base32 chars>` from 64 random bits without calling any courier.

    Collisions are left to chance (1 in 2**64 per pair) and caught by the database's UNIQUE(awb);
    the random source is injectable so tests can pin the numbers.
    """

    def __init__(
        self,
        random_bits: Callable[[], int] = _random_64_bits,
        failing_voids: Mapping[str, str] | None = None,
    ) -> None:
        self._random_bits = random_bits
        self._lock = threading.Lock()
        # airway bill → the answer its void gets, until told otherwise
        self._failing: dict[str, str] = dict(failing_voids or {})

    def fail_voids(self, awb: str, answer: str) -> None:
        """From now on the void of ``awb`` fails with ``answer``."""
        with self._lock:
            self._failing[awb] = answer

    def heal_voids(self, awb: str) -> None:
        """From now on the void of ``awb`` succeeds."""
        with self._lock:
            self._failing.pop(awb, None)

    def void_airway_bill(
        self, *, courier: str, awb: str, order_id: str, tenant_id: str
    ) -> VoidOutcome:
        with self._lock:
            answer = self._failing.get(awb)
        if answer is not None:
            return VoidOutcome(voided=False, answer=answer)
        return VoidOutcome(voided=True, answer="voided")

    def new_airway_bill(self, *, courier: str, order_id: str, tenant_id: str) -> str:
        # order_id and tenant_id are part of the port for real couriers; a local number needs none.
        prefix = _NOT_ALNUM.sub("", courier.upper()) or _FALLBACK_PREFIX
        value = self._random_bits() & (2**64 - 1)
        suffix = base64.b32encode(value.to_bytes(8, "big")).decode("ascii").rstrip("=")
        return f"{prefix}-{suffix}"
