"""The page's controls: a language that persists, paging, read all, sign-in, keyboard, phone size.

The 25 notifications of the paging test are written straight through the feed store (setup only);
the language test's come through notify_svc from the `pickup.cancel.decided` topic.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, Pages, screenshot
from tests.browser.helpers import (
    APPROVE,
    REJECT,
    WAIT_MS,
    expect_bell,
    items,
    link,
    publish,
    store,
)
from tests.integration.notify.harness import SELLER, Stack
from tests.integration.notify.test_api import decided

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_english_is_chosen_once_and_stays_for_the_reader(
    stack: Stack, tenant: str, pages: Pages
) -> None:
    publish(stack, tenant, APPROVE, REJECT, run="lang")
    page = pages.open(link(stack, tenant))
    expect(items(page)).to_have_count(2, timeout=WAIT_MS)
    expect(page.locator("html")).to_have_attribute("lang", "id")

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
    expect(items(page).locator("h3")).to_have_text(
        ["Pickup cancellation approved", "Pickup cancellation rejected"]
    )
    expect(page.get_by_role("button", name="Notifications, 2 unread")).to_be_visible()
    assert stack.api.get("/v1/preferences", tenant, SELLER) == (200, {"locale": "en"})
    screenshot(page, "list-english")

    # A new browser (no storage of the first) with a new link: the choice is the reader's.
    again = pages.open(link(stack, tenant))
    expect(again.get_by_role("heading", level=1)).to_have_text("Notifications")
    expect(items(again).first.locator("h3")).to_have_text("Pickup cancellation approved")
    again.get_by_role("button", name="Indonesia").click()
    expect(items(again).first.locator("h3")).to_have_text("Pembatalan pickup disetujui")
    assert stack.api.get("/v1/preferences", tenant, SELLER) == (200, {"locale": "id"})


def test_more_loads_older_pages_by_cursor_and_read_all_clears_the_bell(
    stack: Stack, tenant: str, pages: Pages
) -> None:
    store(stack, [x for n in range(1, 26) for x in decided(tenant, n)])
    page = pages.open(link(stack, tenant))
    expect(items(page)).to_have_count(20, timeout=WAIT_MS)
    expect_bell(page, 25)
    expect(items(page).first).to_contain_text("ORD-25")
    more = page.get_by_role("button", name="Muat lebih banyak")
    more.click()
    expect(items(page)).to_have_count(25)
    expect(items(page).last).to_contain_text("ORD-1 ")
    expect(more).to_be_hidden()

    page.get_by_role("button", name="Tandai semua dibaca").click()
    expect_bell(page, 0)
    expect(page.locator("#items > li.unread")).to_have_count(0)
    assert stack.api.get("/v1/notifications/unread-count", tenant, SELLER) == (200, {"unread": 0})


def test_a_pasted_token_signs_in_and_a_bad_one_is_refused_with_the_reason(
    stack: Stack, tenant: str, pages: Pages
) -> None:
    store(stack, decided(tenant, 1))
    page = pages.open(f"{stack.api.url}/app")
    field = page.get_by_label("Token akses")
    field.fill("not-a-token")
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("alert")).to_have_text("Token tidak valid atau sudah kedaluwarsa.")
    screenshot(page, "sign-in-refused")

    field.fill(stack.api.token(tenant, SELLER))
    page.get_by_role("button", name="Masuk").click()
    expect(items(page)).to_have_count(1)
    page.reload()  # the tab keeps the token, the address never had it
    expect(items(page)).to_have_count(1)
    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_label("Token akses")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Token akses")).to_be_visible()


def test_the_keyboard_alone_opens_a_notification_and_returns_to_the_list(
    stack: Stack, tenant: str, pages: Pages
) -> None:
    store(stack, decided(tenant, 1))
    page = pages.open(link(stack, tenant))
    expect(items(page)).to_have_count(1, timeout=WAIT_MS)
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Lihat Semua":
            break
    else:
        pytest.fail("Tab never reached the first 'Lihat Semua'")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Pembatalan pickup ditolak", level=2)).to_be_focused()
    expect_bell(page, 0)
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Lihat Semua")).to_be_focused()


# Contrast of every visible text against the first opaque background behind it (WCAG 2.x).
_LOW_CONTRAST = """() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const behind = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.checkVisibility()) continue;
    const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(behind(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(`${el.tagName}#${el.id}.${el.className} ${ratio.toFixed(2)}`);
  }
  return low;
}"""


def _fits_the_screen(page: Page) -> bool:
    width = page.evaluate("document.documentElement.scrollWidth")
    return bool(width <= PHONE["width"])


def test_on_a_phone_nothing_overflows_and_every_text_has_aa_contrast(
    stack: Stack, tenant: str, pages: Pages
) -> None:
    store(stack, [x for n in range(1, 3) for x in decided(tenant, n)])
    page = pages.open(link(stack, tenant))
    expect(items(page)).to_have_count(2, timeout=WAIT_MS)
    assert _fits_the_screen(page)
    assert page.evaluate(_LOW_CONTRAST) == []
    items(page).first.get_by_role("button", name="Lihat Semua").click()
    expect(page.locator("#detail-body")).to_contain_text("ORD-2")
    assert _fits_the_screen(page)
    assert page.evaluate(_LOW_CONTRAST) == []
    for name in ("Kembali", "Indonesia", "English", "Notifikasi, 1 belum dibaca"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box is not None and box["height"] >= 44, (name, box)
