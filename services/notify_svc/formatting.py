"""How notification texts write money, dates and payment methods, and typed reads of their data.

Pure. Shared by the wording modules (`texts_pickup`, `texts_payment`); a missing or malformed
required field raises `BadData`, which `templates.render` turns into an `Unrenderable` value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from services.notify_svc.model import Locale

CENT = Decimal("0.01")
# Indonesian swaps the English separators: "." groups thousands, "," marks the decimals.
_ID_SEPARATORS = str.maketrans(",.", ".,")

_MONTHS_ID = (
    *("Januari", "Februari", "Maret", "April", "Mei", "Juni"),
    *("Juli", "Agustus", "September", "Oktober", "November", "Desember"),
)
_MONTHS_EN = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)

_ZONES = {
    timedelta(hours=7): "WIB",
    timedelta(hours=8): "WITA",
    timedelta(hours=9): "WIT",
}

# What a text field may hold on the wire (an id may come as a number); a tuple, not `str | int`,
# which would build a union on each of the many calls.
_TEXTUAL = (str, int)

_METHODS: dict[str, tuple[str, str]] = {
    "giro": ("Giro", "Giro"),
    "cheque": ("Cek", "Cheque"),
    "transfer": ("Transfer", "Transfer"),
    "cash": ("Tunai", "Cash"),
}


@dataclass(frozen=True, slots=True)
class Rendered:
    title: str
    body: str


class BadData(Exception):
    """Internal short-cut out of a template; `render` turns it into an `Unrenderable` value."""


def sentence(text: str) -> str:
    """Free text (a reason) closed with exactly one full stop, whatever the user typed."""
    return text if text[-1] in ".!?" else f"{text}."


def pick(pair: tuple[str, str], locale: Locale) -> str:
    return pair[0] if locale == "id" else pair[1]


def listing(items: list[str], locale: Locale) -> str:
    """`A`, `A dan B`, `A, B dan C` (`and` in English)."""
    if len(items) <= 1:
        return "".join(items)
    joiner = " dan " if locale == "id" else " and "
    return ", ".join(items[:-1]) + joiner + items[-1]


def format_money(amount: Decimal, locale: Locale, currency: str = "IDR") -> str:
    """`Rp30.878.568,81` in Indonesian, `IDR 30,878,568.81` in English; always two decimals."""
    value = amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
    sign = "-" if value < 0 else ""
    grouped = f"{abs(value):,.2f}"
    if locale == "en":
        return f"{sign}{currency} {grouped}"
    swapped = grouped.translate(_ID_SEPARATORS)
    prefix = "Rp" if currency == "IDR" else f"{currency} "
    return f"{sign}{prefix}{swapped}"


def format_date(day: date, locale: Locale) -> str:
    """`22 Agustus 2023` / `22 August 2023`."""
    months = _MONTHS_ID if locale == "id" else _MONTHS_EN
    return f"{day.day} {months[day.month - 1]} {day.year}"


def _zone(offset: timedelta | None) -> str:
    """The zone a reader in Indonesia names (WIB, WITA, WIT), else UTC with its offset."""
    if offset is None or offset == timedelta(0):
        return "UTC"
    if offset in _ZONES:
        return _ZONES[offset]
    total = int(offset.total_seconds())
    hours, minutes = divmod(abs(total) // 60, 60)
    return f"UTC{'-' if total < 0 else '+'}{hours:02d}:{minutes:02d}"


def format_moment(moment: datetime, locale: Locale) -> str:
    """`7 Mei 2024 pukul 09.46 WIB` / `7 May 2024, 09:46 WIB`, in the timestamp's own offset.

    Services emit timestamps in the offset they choose (pickup_svc: UTC); there is no per-tenant
    time zone to convert to, so the text names the zone it shows.
    """
    day, zone = format_date(moment.date(), locale), _zone(moment.utcoffset())
    if locale == "id":
        return f"{day} pukul {moment:%H.%M} {zone}"
    return f"{day}, {moment:%H:%M} {zone}"


def parse_money(raw: object) -> Decimal:
    """Money from the wire (a string or an integer, never a float) as a 2-place Decimal."""
    if isinstance(raw, bool) or not isinstance(raw, _TEXTUAL):
        raise BadData(f"amount must be a decimal string, got {type(raw).__name__}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation as exc:
        raise BadData(f"amount {raw!r} is not a number") from exc
    if not value.is_finite() or value != value.quantize(CENT, rounding=ROUND_HALF_EVEN):
        raise BadData(f"amount {raw!r} has more than 2 decimals")
    return value.quantize(CENT)


def _text(value: object, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, _TEXTUAL):
        raise BadData(f"field {name!r} must be a string")
    return str(value).strip() or None


def _day(raw: str, name: str, locale: Locale) -> str:
    try:
        return format_date(date.fromisoformat(raw), locale)
    except ValueError as exc:
        raise BadData(f"field {name!r} is not a YYYY-MM-DD date") from exc


class Fields:
    """Typed reads of the template data; a missing required field aborts rendering."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def req(self, name: str) -> str:
        value = self.opt(name)
        if value is None:
            raise BadData(f"missing field {name!r}")
        return value

    def opt(self, name: str) -> str | None:
        return _text(self._data.get(name), name)

    def money(self, locale: Locale, name: str = "amount") -> str | None:
        raw = self._data.get(name)
        if raw is None:
            return None
        return format_money(parse_money(raw), locale, self.opt("currency") or "IDR")

    def day(self, name: str, locale: Locale) -> str:
        return _day(self.req(name), name, locale)

    def opt_day(self, name: str, locale: Locale) -> str | None:
        raw = self.opt(name)
        return None if raw is None else _day(raw, name, locale)

    def moment(self, name: str, locale: Locale) -> str:
        """A required RFC 3339 timestamp, written for a reader (`format_moment`)."""
        raw = self.req(name)
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise BadData(f"field {name!r} is not an RFC 3339 timestamp") from exc
        if moment.tzinfo is None:
            raise BadData(f"field {name!r} has no UTC offset")
        return format_moment(moment, locale)

    def texts(self, name: str) -> list[str]:
        """A list of ids (`payment_nos`); absent is empty."""
        raw = self._data.get(name)
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise BadData(f"field {name!r} must be a list")
        return [t for t in (_text(v, name) for v in raw) if t]

    def part(self, name: str) -> Fields | None:
        """A nested object (`giro`, `billing`), or None when absent."""
        raw = self._data.get(name)
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise BadData(f"field {name!r} must be an object")
        return Fields(raw)

    def parts(self, name: str) -> list[Fields]:
        """A list of nested objects (`released` lines); absent is empty."""
        raw = self._data.get(name)
        if raw is None:
            return []
        if not isinstance(raw, list) or not all(isinstance(v, Mapping) for v in raw):
            raise BadData(f"field {name!r} must be a list of objects")
        return [Fields(v) for v in raw]

    def has(self, name: str) -> bool:
        return self._data.get(name) is not None


def method_label(f: Fields, locale: Locale) -> str | None:
    """What a person calls the instrument: `Giro BRI BG-778812`, `Transfer`, `Tunai`."""
    method = f.opt("method")
    if method not in _METHODS:
        return None
    label = pick(_METHODS[method], locale)
    giro = f.part("giro")
    if giro is None:
        return label
    details = [text for text in (giro.opt("bank"), giro.opt("number")) if text]
    return " ".join([label, *details])


def customer(f: Fields) -> str | None:
    """The customer's name where the command gave one, else their id."""
    return f.opt("customer_name") or f.opt("customer_id")
