"""Browser tests: the notification page in headless Chromium (Debian's, driven by Playwright).

The package shares one broker, one notify_svc and one feed API (processes, on the session's
Redis) and one browser; every test works in a tenant of its own and a fresh browser context.
Without /usr/bin/chromium the tests fail under CI (`CI` set, as `.ci/run` does) and are skipped
with the reason elsewhere. Screenshots go to `.artifacts/browser/` (git-ignored).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from services.common.settings import Settings
from tests.integration.notify.harness import Stack, own_stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "browser"
PHONE = {"width": 390, "height": 844}


# Package scope, not session: while Playwright's sync API is open its event loop runs on this
# thread, and the later packages' `asyncio.run` would refuse to start.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run under CI: {reason}")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        # launch() gives the browser a fresh temporary profile of its own and deletes it after.
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="package")
def stack(
    request: pytest.FixtureRequest, infra: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """notify_svc and the feed API as processes on a broker of this package's own."""
    data_dir = tmp_path_factory.mktemp("browser-stack")
    with own_stack(request.config, infra, data_dir) as stack:
        yield stack


@pytest.fixture
def tenant() -> str:
    return f"seller-{uuid.uuid4().hex[:10]}"


class Pages:
    """Opens pages, each in a fresh context (own storage) sized like a phone, and checks that
    none of them threw or had anything blocked by the Content-Security-Policy."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.problems: list[str] = []
        self._contexts: list[BrowserContext] = []

    def open(self, url: str) -> Page:
        context = self.browser.new_context(
            viewport=PHONE, locale="id-ID", timezone_id="Asia/Jakarta"
        )
        self._contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on("console", self._console)
        page.goto(url)
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.problems.append(f"blocked: {message.text}")

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@pytest.fixture
def pages(browser: Browser) -> Iterator[Pages]:
    opened = Pages(browser)
    try:
        yield opened
    finally:
        opened.close()
    assert opened.problems == []


def screenshot(page: Page, name: str) -> Path:
    """Keep a full-page screenshot as a test artifact; its path is printed."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path
