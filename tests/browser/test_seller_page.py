"""Seed 002 in the browser: the seller's bell, the approval and the rejection, "Lihat Semua".

Every notification here is published as pickup_svc publishes a decision, on the real
`pickup.cancel.decided` topic, and reaches the page through notify_svc, Redis and the feed API.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, screenshot
from tests.browser.helpers import (
    APPROVE,
    APPROVE_REASON,
    REJECT,
    REJECT_REASON,
    SELLERS_REASON,
    VOIDED_AWB,
    WAIT_MS,
    expect_bell,
    expect_live,
    item,
    items,
    link,
    publish,
)
from tests.integration.notify.harness import SELLER, Stack

pytestmark = [pytest.mark.integration, pytest.mark.browser]

APPROVED, REJECTED = "Pembatalan pickup disetujui", "Pembatalan pickup ditolak"


def test_the_seller_sees_the_approval_and_the_rejection_and_their_full_reasons(
    stack: Stack, tenant: str, pages: Pages
) -> None:
    publish(stack, tenant, APPROVE, REJECT, run="seen")
    page = pages.open(link(stack, tenant))
    expect(items(page)).to_have_count(2, timeout=WAIT_MS)
    expect_bell(page, 2)
    expect(page.get_by_role("button", name="Notifikasi, 2 belum dibaca")).to_be_visible()
    # Newest first: the approval (10:20) above the rejection (09:56).
    expect(items(page).locator("h3")).to_have_text([APPROVED, REJECTED])
    expect(item(page, REJECTED)).to_contain_text("Belum dibaca")
    assert "token=" not in page.url
    screenshot(page, "list")

    item(page, REJECTED).get_by_role("button", name="Lihat Semua").click()
    detail = page.locator("#detail-view")
    expect(detail.get_by_role("heading", name=REJECTED)).to_be_focused()
    expect(page.locator("#detail-body")).to_contain_text(f"Alasan: {REJECT_REASON}")
    expect(page.locator("#detail-body")).to_contain_text("Anda dapat mengajukan pembatalan kembali")
    facts = page.locator("#detail-facts")
    expect(facts).to_contain_text("Alasan admin" + REJECT_REASON)
    expect(facts).to_contain_text("Alasan pengajuan" + SELLERS_REASON)
    screenshot(page, "detail-rejected")

    page.get_by_role("button", name="Kembali").click()
    item(page, APPROVED).get_by_role("button", name="Lihat Semua").click()
    expect(page.locator("#detail-body")).to_contain_text(f"Alasan admin: {APPROVE_REASON}")
    expect(page.locator("#detail-body")).to_contain_text(f"Resi {VOIDED_AWB} telah hangus")
    expect(facts).to_contain_text("Resi hangus" + VOIDED_AWB)
    screenshot(page, "detail-approved")


def test_opening_a_notification_marks_it_read_and_the_count_drops(
    stack: Stack, tenant: str, pages: Pages
) -> None:
    publish(stack, tenant, APPROVE, REJECT, run="read")
    page = pages.open(link(stack, tenant))
    expect(items(page)).to_have_count(2, timeout=WAIT_MS)
    expect_bell(page, 2)

    item(page, REJECTED).click()
    expect(page.locator("#detail-body")).to_contain_text(REJECT_REASON)
    expect_bell(page, 1)
    page.keyboard.press("Escape")
    expect(page.locator("#list-view")).to_be_visible()
    expect(item(page, REJECTED)).not_to_have_class(re.compile(r"\bunread\b"))
    expect(item(page, REJECTED)).to_contain_text("Dibaca")
    expect(item(page, APPROVED)).to_have_class(re.compile(r"\bunread\b"))
    screenshot(page, "list-after-reading")
    # The feed itself, not just the page, holds the read state.
    status, body = stack.api.get("/v1/notifications/unread-count", tenant, SELLER)
    assert (status, body) == (200, {"unread": 1})
    page.reload()
    expect_bell(page, 1)


def test_a_new_decision_appears_without_a_reload(stack: Stack, tenant: str, pages: Pages) -> None:
    publish(stack, tenant, REJECT, run="before")
    page = pages.open(link(stack, tenant))
    expect(items(page)).to_have_count(1, timeout=WAIT_MS)
    expect_live(page)
    page.evaluate("window.sameDocument = true")

    publish(stack, tenant, APPROVE, run="live")
    expect(items(page)).to_have_count(2, timeout=WAIT_MS)
    expect(items(page).first.locator("h3")).to_have_text(APPROVED)
    expect_bell(page, 2)
    assert page.evaluate("window.sameDocument") is True
    screenshot(page, "list-live-update")


def test_another_sellers_token_never_shows_them(stack: Stack, tenant: str, pages: Pages) -> None:
    mine = pages.open(link(stack, tenant))
    same_tenant_other_seller = pages.open(link(stack, tenant, "user:seller-78"))
    other_tenant_same_user = pages.open(link(stack, f"{tenant}-b"))
    for page in (mine, same_tenant_other_seller, other_tenant_same_user):
        expect_live(page)

    publish(stack, tenant, APPROVE, REJECT, run="isolated")
    expect(items(mine)).to_have_count(2, timeout=WAIT_MS)
    theirs = mine.locator("#items > li").first.get_attribute("data-id")
    assert theirs
    for page in (same_tenant_other_seller, other_tenant_same_user):
        # They were live all along (anything pushed to them has arrived by now); read again too.
        expect(items(page)).to_have_count(0)
        page.reload()
        expect(page.locator("#empty")).to_have_text("Belum ada notifikasi.")
        expect(items(page)).to_have_count(0)
        expect_bell(page, 0)
        page.evaluate(f"location.hash = '#n=' + encodeURIComponent({theirs!r})")
        expect(page.locator("#status")).to_have_text("Notifikasi tidak ditemukan.")
        expect(page.locator("#list-view")).to_be_visible()
        expect(page.get_by_text(REJECT_REASON)).to_have_count(0)
    screenshot(same_tenant_other_seller, "other-seller-empty")
