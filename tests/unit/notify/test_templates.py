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
    assert "Atur Pengiriman" in rendered.body
    en = _ok(Kind.PICKUP_CANCEL_APPROVED, data, "en")
    assert "JNE123" in en.body and "approved" in en.title.lower()


@pytest.mark.parametrize("locale", ["id", "en"])
def test_approval_never_claims_the_invoice_void_or_the_payment_unused(locale: str) -> None:
    for billing in (None, {"payment_nos": []}, {"invoice_no": "INV-1", "payment_nos": ["P-1"]}):
        data = {"order_id": "SO-88", "voided_awb": "JNE123", "billing": billing}
        body = _ok(Kind.PICKUP_CANCEL_APPROVED, data, locale).body
        for claim in ("Belum digunakan", "telah dibatalkan", '"unused"', "was voided"):
            assert claim not in body, (billing, claim)


def test_approval_says_plainly_when_the_order_had_nothing_to_void() -> None:
    data = {"order_id": "SO-88", "voided_awb": "JNE1", "billing": {"payment_nos": []}}
    assert "jadi tidak ada yang perlu dibatalkan" in _ok(Kind.PICKUP_CANCEL_APPROVED, data).body
    en = _ok(Kind.PICKUP_CANCEL_APPROVED, data, "en").body
    assert "has no invoice and no payments, so there is nothing to void" in en


def test_approval_says_what_was_asked_of_payment_svc_and_that_a_notification_follows() -> None:
    billing = {"invoice_no": "INV-1", "payment_nos": ["P-1", "P-2"]}
    data = {"order_id": "SO-88", "voided_awb": "JNE1", "billing": billing}
    body = _ok(Kind.PICKUP_CANCEL_APPROVED, data).body
    assert "diminta membatalkan invoice INV-1 dan melepas pembayaran P-1 dan P-2" in body
    assert "notifikasi terpisah" in body


def test_invoice_voided_and_payment_released_state_what_payment_svc_did() -> None:
    void = {
        "invoice_no": "INV-1",
        "order_id": "ORD-1",
        "customer_name": "TOKO MAJU",
        "amount": "185000.00",
        "released": [{"payment_no": "P-1", "amount": "185000.00"}],
    }
    body = _ok(Kind.INVOICE_VOIDED, void).body
    assert body.startswith("Invoice INV-1 untuk order ORD-1, pelanggan TOKO MAJU")
    assert "Alokasi pembayaran P-1 (Rp185.000,00) ke invoice ini dilepas." in body
    release = {
        "payment_no": "P-1",
        "customer_id": "CUST-9",
        "usage": "partially_used",
        "released": [{"invoice_no": "INV-1", "amount": "85000.00"}],
    }
    partly = _ok(Kind.PAYMENT_RELEASED, release)
    assert partly.title == "Alokasi dilepas" and '"Sebagian digunakan"' in partly.body
    assert "INV-1 (Rp85.000,00)" in partly.body and "CUST-9" in partly.body
    unused = _ok(Kind.PAYMENT_RELEASED, {**release, "usage": "unused"}, "en")
    assert unused.title == 'Payment back to "unused"' and 'now "unused"' in unused.body


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


GIRO_RESOLVED = {
    "payment_no": "PR-230800811",
    "customer_id": "CUST-1188",
    "customer_name": "1188 MINI MARKET",
    "method": "giro",
    "giro": {"number": "BG-778812", "bank": "BRI", "due_date": "2023-08-21"},
    "amount": "30878568.81",
    "payment_date": "2023-08-21",
    "resolved_date": "2023-08-22",
}


def test_the_resolved_giro_names_customer_method_amount_and_both_dates() -> None:
    id_ = _ok(Kind.PAYMENT_RESOLVED, GIRO_RESOLVED)
    assert id_.body == (
        "Pembayaran PR-230800811 (Giro BRI BG-778812), pelanggan 1188 MINI MARKET, sejumlah "
        "Rp30.878.568,81, telah cair dan berstatus Completed. Tanggal bayar: 21 Agustus 2023; "
        "tanggal cair: 22 Agustus 2023."
    )
    en = _ok(Kind.PAYMENT_RESOLVED, GIRO_RESOLVED, "en")
    assert "(Giro BRI BG-778812), customer 1188 MINI MARKET" in en.body
    assert "Paid on 21 August 2023; cleared on 22 August 2023." in en.body


def test_an_older_resolved_event_still_renders_with_what_it_has() -> None:
    older = {"payment_no": "PR-1", "customer_id": "CUST-1188", "resolved_date": "2023-08-22"}
    body = _ok(Kind.PAYMENT_RESOLVED, older).body
    assert body == (
        "Pembayaran PR-1, pelanggan CUST-1188, telah cair dan berstatus Completed. "
        "Tanggal cair: 22 Agustus 2023."
    )


def test_a_cancelled_payment_says_its_allocations_came_back_only_when_they_did() -> None:
    data = {"payment_no": "CP-1", "method": "cash", "amount": "1000.00", "released": []}
    assert "Alokasi" not in _ok(Kind.PAYMENT_CANCELLED, data).body
    data["released"] = [{"invoice_no": "INV-7", "amount": "1000.00"}]  # type: ignore[list-item]
    body = _ok(Kind.PAYMENT_CANCELLED, data).body
    assert "(Tunai)" in body and "Alokasinya ke invoice INV-7 dikembalikan" in body


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


WAITING = {
    "order_id": "SO-88",
    "requested_reason": "Alamat salah",
    "requested_at": "2024-05-06T09:46:00+07:00",
    "deadline": "2024-05-07T02:46:00+00:00",
}


def test_the_reminder_asks_the_admin_to_decide_since_when_and_by_when() -> None:
    id_ = _ok(Kind.PICKUP_CANCEL_REMINDER, WAITING)
    assert id_.title == "Pembatalan pickup menunggu keputusan Anda"
    assert id_.body == (
        "Permintaan pembatalan pickup untuk order SO-88 menunggu keputusan Anda sejak "
        "6 Mei 2024 pukul 09.46 WIB. Putuskan sebelum 7 Mei 2024 pukul 02.46 UTC. "
        "Alasan pengajuan: Alamat salah."
    )
    en = _ok(Kind.PICKUP_CANCEL_REMINDER, WAITING, "en")
    assert en.title == "Pickup cancellation awaits your decision"
    assert "waiting for your decision since 6 May 2024, 09:46 WIB" in en.body
    assert "Decide by 7 May 2024, 02:46 UTC." in en.body and "Alamat salah." in en.body


def test_the_escalation_says_the_deadline_passed_and_who_has_it_now() -> None:
    id_ = _ok(Kind.PICKUP_CANCEL_ESCALATED, WAITING)
    assert id_.title == "Pembatalan pickup dieskalasi"
    assert "belum diputuskan hingga batas waktu 7 Mei 2024 pukul 02.46 UTC" in id_.body
    assert "telah dieskalasi ke supervisor" in id_.body and "SO-88" in id_.body
    en = _ok(Kind.PICKUP_CANCEL_ESCALATED, WAITING, "en")
    assert en.title == "Pickup cancellation escalated"
    assert "was not decided by its deadline, 7 May 2024, 02:46 UTC," in en.body
    assert "escalated to the supervisors" in en.body


@pytest.mark.parametrize("kind", [Kind.PICKUP_CANCEL_REMINDER, Kind.PICKUP_CANCEL_ESCALATED])
def test_a_deadline_that_is_missing_or_has_no_offset_cannot_be_rendered(kind: Kind) -> None:
    missing = render(kind, {k: v for k, v in WAITING.items() if k != "deadline"})
    assert isinstance(missing, Unrenderable) and "deadline" in missing.reason
    naive = render(kind, {**WAITING, "deadline": "2024-05-07T02:46:00"})
    assert isinstance(naive, Unrenderable) and "offset" in naive.reason


VOID_FAILED = {
    "order_id": "SO-88",
    "awb": "JNE-0101-7781",
    "courier": "jne",
    "answer": "AWB already manifested",
    "attempts": 1,
}


def test_a_failed_void_quotes_the_courier_and_says_what_re_arranging_waits_for() -> None:
    id_ = _ok(Kind.PICKUP_VOID_FAILED, VOID_FAILED)
    assert id_.title == "Resi belum dapat dibatalkan"
    assert id_.body == (
        "Pembatalan pickup untuk order SO-88 telah disetujui, tetapi resi JNE-0101-7781 belum "
        "dapat dibatalkan di kurir jne. Jawaban kurir: AWB already manifested. Pengaturan "
        "pengiriman ulang menunggu hingga admin mencoba pembatalan lagi atau menandai resi "
        "sudah dibatalkan."
    )
    en = _ok(Kind.PICKUP_VOID_FAILED, {**VOID_FAILED, "attempts": 3}, "en")
    assert en.title == "Airway bill not voided yet"
    assert "airway bill JNE-0101-7781 could not be voided at courier jne yet" in en.body
    assert "The courier's answer: AWB already manifested." in en.body
    assert "This was attempt 3." in en.body
    assert "waits until an admin retries the void or marks the bill voided" in en.body
    assert "percobaan ke-3" in _ok(Kind.PICKUP_VOID_FAILED, {**VOID_FAILED, "attempts": 3}).body


def test_a_failed_void_without_the_couriers_answer_cannot_be_rendered() -> None:
    result = render(
        Kind.PICKUP_VOID_FAILED, {k: v for k, v in VOID_FAILED.items() if k != "answer"}
    )
    assert isinstance(result, Unrenderable) and "answer" in result.reason


AUTO = {
    "order_id": "SO-88",
    "decided_by": "system:pickup-sla",
    "reason": "no decision within 24 h",
    "requested_reason": "Alamat salah",
}


@pytest.mark.parametrize("locale", ["id", "en"])
def test_an_automatic_decision_says_so_and_why_and_never_names_an_admin(locale: str) -> None:
    approved = {**AUTO, "voided_awb": "JNE1", "billing": {"payment_nos": []}}
    for kind, data in (
        (Kind.PICKUP_CANCEL_APPROVED, approved),
        (Kind.PICKUP_CANCEL_REJECTED, AUTO),
    ):
        body = _ok(kind, data, locale).body
        assert "admin" not in body.lower(), body
        assert "Alamat salah." in body
    id_ = _ok(Kind.PICKUP_CANCEL_APPROVED, approved).body
    assert id_.startswith(
        "Pembatalan pickup untuk order SO-88 disetujui otomatis karena tidak ada keputusan "
        "dalam 24 jam. "
    )
    assert "Resi JNE1 telah hangus." in id_
    rejected = _ok(Kind.PICKUP_CANCEL_REJECTED, AUTO, "en").body
    assert rejected.startswith(
        "Cancelling the pickup of order SO-88 was rejected automatically because no decision "
        "came within 24 h. "
    )
    assert "You may request the cancellation again." in rejected


def test_an_automatic_decision_in_fractional_hours_or_with_another_reason() -> None:
    half = _ok(Kind.PICKUP_CANCEL_REJECTED, {**AUTO, "reason": "no decision within 1.5 h"})
    assert "tidak ada keputusan dalam 1,5 jam." in half.body
    other = {**AUTO, "reason": "Batas waktu toko"}
    assert (
        "ditolak otomatis oleh sistem. Alasan: Batas waktu toko."
        in _ok(Kind.PICKUP_CANCEL_REJECTED, other).body
    )
    en = _ok(Kind.PICKUP_CANCEL_APPROVED, other, "en").body
    assert "approved automatically by the system. Reason: Batas waktu toko." in en


@pytest.mark.parametrize("locale", ["id", "en"])
def test_an_approval_voided_after_a_retry_reads_as_before_and_a_void_by_hand_adds_the_note(
    locale: str,
) -> None:
    plain = {"order_id": "SO-88", "reason": "OK", "voided_awb": "JNE1", "decided_by": "admin:ani"}
    before = _ok(Kind.PICKUP_CANCEL_APPROVED, plain, locale).body
    assert _ok(Kind.PICKUP_CANCEL_APPROVED, {**plain, "voided_by": "admin:rina"}, locale).body == (
        before
    )
    by_hand = {**plain, "voided_by": "admin:rina", "void_note": "Dibatalkan lewat telepon"}
    body = _ok(Kind.PICKUP_CANCEL_APPROVED, by_hand, locale).body
    label = "Catatan pembatalan resi" if locale == "id" else "Note on the void"
    assert f"{label}: Dibatalkan lewat telepon." in body
    assert "rina" not in body
