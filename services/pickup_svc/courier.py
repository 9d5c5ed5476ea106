"""Where airway bill numbers come from: a courier gateway port and a local default adapter.

A real courier integration implements `CourierGateway`; the local one only mints numbers.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable
from typing import Protocol

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_FALLBACK_PREFIX = "AWB"


class CourierGateway(Protocol):
    """Asks a courier for a new airway bill (resi) for an order's pickup."""

    def new_airway_bill(self, *, courier: str, order_id: str, tenant_id: str) -> str: ...


def _random_64_bits() -> int:
    return secrets.randbits(64)


class LocalCourierGateway:
    """Mints `<COURIER>-<13 base32 chars>` from 64 random bits without calling any courier.

    Collisions are left to chance (1 in 2**64 per pair) and caught by the database's UNIQUE(awb);
    the random source is injectable so tests can pin the numbers.
    """

    def __init__(self, random_bits: Callable[[], int] = _random_64_bits) -> None:
        self._random_bits = random_bits

    def new_airway_bill(self, *, courier: str, order_id: str, tenant_id: str) -> str:
        # order_id and tenant_id are part of the port for real couriers; a local number needs none.
        prefix = _NOT_ALNUM.sub("", courier.upper()) or _FALLBACK_PREFIX
        value = self._random_bits() & (2**64 - 1)
        suffix = base64.b32encode(value.to_bytes(8, "big")).decode("ascii").rstrip("=")
        return f"{prefix}-{suffix}"
