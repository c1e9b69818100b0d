"""A real browser for the pages citizens and agents use: Debian's Chromium driven by
Playwright, with traps for script injection (RELIABILITY T-i).

`window.__xss` records any payload that runs; dialogs are recorded and dismissed; any
request to a host other than the test server's fails the page load and is recorded.
Without Chromium the tests skip, unless ADUAN_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

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
TRAP = """
window.__xssCalls = [];
window.__xss = function (id) { window.__xssCalls.push(String(id)); };
"""


@dataclass
class Traps:
    xss: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.xss == [], f"payloads ran: {self.xss}"
        assert self.dialogs == [], f"dialogs opened: {self.dialogs}"
        assert self.foreign_requests == [], f"requests left the machine: {self.foreign_requests}"
        assert self.csp_violations == [], f"the page broke its own policy: {self.csp_violations}"


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("ADUAN_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required here (apt-get install -y chromium)")
        pytest.skip("no Chromium on this machine (apt-get install -y chromium)")
    return path


@contextmanager
def browser_page(base: str) -> Iterator[tuple[Any, Traps]]:
    """A fresh page in a fresh context, with the traps armed."""
    from playwright.sync_api import sync_playwright

    executable = chromium()
    traps = Traps()
    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls
    # (setting up, posting replies) are still plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    allowed_host = urlsplit(base).hostname
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.add_init_script(TRAP)

        def guard(route: Any) -> None:
            url = route.request.url
            if urlsplit(url).scheme in ("http", "https", "ws", "wss") and (
                urlsplit(url).hostname != allowed_host
            ):
                traps.foreign_requests.append(url)
                route.abort()
            else:
                route.continue_()

        context.route("**/*", guard)
        page = context.new_page()
        page.on("dialog", lambda dialog: (traps.dialogs.append(dialog.message), dialog.dismiss()))
        page.on(
            "console",
            lambda message: (
                traps.csp_violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        try:
            yield page, traps
            traps.xss.extend(page.evaluate("window.__xssCalls || []"))
        finally:
            context.close()
            browser.close()
            if previous is None:
                del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
            else:
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def record_calls(page: Any, traps: Traps) -> None:
    """Collects the payload calls of the page now shown (before navigating away)."""
    traps.xss.extend(page.evaluate("window.__xssCalls || []"))
