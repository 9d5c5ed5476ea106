"""Wording of notifications: money and dates as a seller reads them, full reasons, both locales."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.notify_svc.templates import (
    Kind,
    Rendered,
    Unrenderable,
    format_money,
    render,
)


@pytest.mark.parametrize(
    ("amount", "locale", "currency", "expected"),
    [
        ("30878568.81", "id", "IDR", "Rp30.878.568,81"),
        ("30878568.81", "en", "IDR", "IDR 30,878,568.81"),
        ("1000", "id", "IDR", "Rp1.000,00"),
        ("0.5", "en", "IDR", "IDR 0.50"),
        ("999.99", "id", "IDR", "Rp999,99"),
        ("1234567.10", "id", "USD", "USD 1.234.567,10"),
        ("-2500.00", "id", "IDR", "-Rp2.500,00"),
    ],
)
def test_money_is_written_the_way_each_locale_reads_it(
    amount: str, locale: str, currency: str, expected: str
) -> None:
    assert format_money(Decimal(amount), locale, currency) == expected  # type: ignore[arg-type]


def _ok(kind: Kind, data: dict[str, object], locale: str = "id") -> Rendered:
    result = render(kind, data, locale)  # type: ignore[arg-type]
    assert isinstance(result, Rendered), result
    return result


def test_rejection_carries_the_full_reason_and_says_the_seller_may_ask_again() -> None:
    reason = "Paket sudah diserahkan ke kurir JNE pada 21/08 pukul 14.00, tidak dapat ditarik"
    data = {"order_id": "SO-88", "reason": reason, "requested_reason": "Alamat salah"}
    id_ = _ok(Kind.PICKUP_CANCEL_REJECTED, data)
    en = _ok(Kind.PICKUP_CANCEL_REJECTED, data, "en")
    assert reason in id_.body and "Alamat salah" in id_.body
    assert "Anda dapat mengajukan pembatalan kembali" in id_.body
    assert "SO-88" in id_.body and "ditolak" in id_.title.lower()
    assert reason in en.body and "you may request the cancellation again" in en.body.lower()


def test_rejection_without_a_reason_cannot_be_rendered() -> None:
    result = render(Kind.PICKUP_CANCEL_REJECTED, {"order_id": "SO-88"})
    assert isinstance(result, Unrenderable) and "reason" in result.reason


def test_approval_names_the_voided_airway_bill_and_the_admins_reason() -> None:
    data = {"order_id": "SO-88", "reason": "Disetujui sesuai permintaan", "voided_awb": "JNE123"}
    rendered = _ok(Kind.PICKUP_CANCEL_APPROVED, data)
    assert "JNE123" in rendered.body and "Disetujui sesuai permintaan" in rendered.body
    assert "Belum digunakan" in rendered.body and "Atur Pengiriman" in rendered.body
    en = _ok(Kind.PICKUP_CANCEL_APPROVED, data, "en")
    assert "JNE123" in en.body and "approved" in en.title.lower()


def test_a_reason_ending_in_a_full_stop_is_not_doubled() -> None:
    rendered = _ok(Kind.PICKUP_CANCEL_REJECTED, {"order_id": "SO-1", "reason": "Sudah dikirim."})
    assert "Sudah dikirim." in rendered.body and ".." not in rendered.body


def test_payment_cancelled_uses_the_help_centre_wording_and_amount() -> None:
    data = {"payment_no": "PR-230800811", "amount": "30878568.81", "reason_code": "giro_bounced"}
    rendered = _ok(Kind.PAYMENT_CANCELLED, data)
    assert rendered.body.startswith("Pembayaran pelanggan berhasil dibatalkan")
    assert "Rp30.878.568,81" in rendered.body and "PR-230800811" in rendered.body
    assert "Giro ditolak bank" in rendered.body
    assert "IDR 30,878,568.81" in _ok(Kind.PAYMENT_CANCELLED, data, "en").body


def test_payment_resolved_names_the_resolved_date() -> None:
    data = {
        "payment_no": "PR-230800811",
        "resolved_date": "2023-08-22",
        "method": "giro",
        "amount": "30878568.81",
        "customer_name": "1188 MINI MARKET",
    }
    id_ = _ok(Kind.PAYMENT_RESOLVED, data)
    assert "22 Agustus 2023" in id_.body and "Giro" in id_.body and "1188 MINI MARKET" in id_.body
    assert "22 August 2023" in _ok(Kind.PAYMENT_RESOLVED, data, "en").body


def test_new_airway_bill_mentions_old_and_new_bill() -> None:
    data = {"order_id": "SO-1", "awb": "NEW9", "previous_awb": "OLD1"}
    rendered = _ok(Kind.PICKUP_ARRANGED, data)
    assert "NEW9" in rendered.body and "OLD1" in rendered.body
    first = _ok(Kind.PICKUP_ARRANGED, {"order_id": "SO-1", "awb": "NEW9"})
    assert first.title != rendered.title and "OLD1" not in first.body


def test_command_rejection_explains_the_code_and_carries_the_message() -> None:
    data = {
        "command_id": "cmd-7",
        "command_type": "payment.cancel",
        "code": "invalid_state",
        "message": "payment PR-1 is already cancelled",
    }
    id_ = _ok(Kind.COMMAND_REJECTED, data)
    assert "pembatalan pembayaran" in id_.body and "cmd-7" in id_.body
    assert "payment PR-1 is already cancelled" in id_.body
    assert "not allowed in the current status" in _ok(Kind.COMMAND_REJECTED, data, "en").body


@pytest.mark.parametrize("amount", [30878568.81, "12.345", "abc", True])
def test_money_that_is_not_a_two_place_decimal_string_is_refused(amount: object) -> None:
    result = render(Kind.PAYMENT_CANCELLED, {"payment_no": "PR-1", "amount": amount})
    assert isinstance(result, Unrenderable)


def test_bad_date_and_unknown_kind_are_refusals_not_exceptions() -> None:
    bad_date = render(Kind.PAYMENT_RESOLVED, {"payment_no": "PR-1", "resolved_date": "22/08/2023"})
    assert isinstance(bad_date, Unrenderable)
    assert isinstance(render("no_such_kind", {}), Unrenderable)
