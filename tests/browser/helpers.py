"""What the browser tests do to the stack (publish decisions, mint links) and read off the page."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import Locator, Page, expect

from services.notify_svc.model import Notification
from services.notify_svc.web import app_link
from tests.integration.notify.harness import SELLER, Stack, example, produce
from tests.integration.notify.test_api import seed

APPROVE = ("pickup_cancel_approve", "pickup.cancel.decided")
REJECT = ("pickup_cancel_reject", "pickup.cancel.decided")
# From the seed examples (schemas/examples/pickup_cancel_*/13_pickup.cancel.decided.json).
REJECT_REASON = (
    "Kurir sudah dalam perjalanan ke lokasi penjemputan; pembatalan tidak dapat diproses."
)
APPROVE_REASON = "Alamat baru sudah diverifikasi."
SELLERS_REASON = "Pembeli minta ganti alamat pengiriman ke gudang baru di Bekasi."
VOIDED_AWB = "JNE-0101-7781"
WAIT_MS = 60_000  # notify_svc consuming a topic, first time in a package: a group join and more


def link(stack: Stack, tenant: str, user: str = SELLER) -> str:
    return app_link(stack.api.url, stack.api.token(tenant, user))


def publish(stack: Stack, tenant: str, *decisions: tuple[str, str], run: str) -> None:
    """Decisions on `pickup.cancel.decided`, as pickup_svc emits them, for SELLER of `tenant`;
    notify_svc consumes them and writes the feed."""
    messages = [example(*d, tenant=tenant, run=f"{run}-{i}") for i, d in enumerate(decisions)]
    produce(stack.bootstrap, "pickup.cancel.decided", list(messages))


def store(stack: Stack, notifications: list[Notification]) -> None:
    """Write straight into the feeds (setup only), off the thread Playwright's event loop owns."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(seed, stack.settings.redis_dsn(), notifications).result()


def items(page: Page) -> Locator:
    return page.locator("#items > li")


def item(page: Page, title: str) -> Locator:
    return items(page).filter(has=page.get_by_role("heading", name=title, exact=True))


def expect_bell(page: Page, unread: int) -> None:
    expect(page.locator("#bell-count")).to_have_text(str(unread), timeout=WAIT_MS)


def expect_live(page: Page) -> None:
    """The page's stream is connected: from here on a new notification reaches it."""
    expect(page.locator("#live")).to_have_attribute("data-state", "on", timeout=WAIT_MS)
