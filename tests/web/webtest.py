"""Helpers for the browser tests: pages that record their console errors, and
screenshots at phone and desktop widths."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Error, Page, expect

ROOT = Path(__file__).resolve().parents[2]
#: axe-core, the accessibility checker (a devDependency of client_web).
AXE = ROOT / "client_web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
#: A phone (an iPhone-sized 390×844) and a laptop screen.
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
NARROWEST = 360

EMAIL = "mediator@example.org"
PASSWORD = "correct horse battery staple"

expect.set_options(timeout=8_000)

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from sync code. Playwright's sync API keeps an
    event loop running in this thread, so the coroutine gets a thread of its own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@dataclass
class Watched:
    """A page in its own browser context, with every console error and page error kept."""

    name: str
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)
    #: Console errors the browser itself logs while the server is down on purpose.
    tolerated: list[re.Pattern[str]] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            text = message.text
            if not any(p.search(text) for p in self.tolerated):
                self.errors.append(f"console: {text}")

    def on_page_error(self, error: Error) -> None:
        self.errors.append(f"pageerror: {error}")

    def text(self) -> str:
        """Everything the page holds as text, hidden parts included."""
        value: str = self.page.evaluate("document.body.textContent")
        return value

    def screenshot(self, label: str) -> None:
        """Full-page PNGs at phone (390 px) and laptop (1280 px) widths, then back to
        the page's own size."""
        size = self.page.viewport_size
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for viewport in (PHONE, DESKTOP):
            self.page.set_viewport_size(viewport)
            self.page.wait_for_timeout(120)  # let the layout (and the chart) settle
            self.page.screenshot(
                path=SCREENSHOTS / f"{self.name}-{label}-{viewport['width']}.png", full_page=True
            )
        if size:
            self.page.set_viewport_size(size)

    def assert_fits(self, width: int = NARROWEST) -> None:
        """No sideways scrolling at `width` px."""
        size = self.page.viewport_size
        self.page.set_viewport_size({"width": width, "height": 740})
        self.page.wait_for_timeout(80)
        overflow = self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        wide = self.page.evaluate(_WIDE_ELEMENTS) if overflow > 0 else []
        if size:
            self.page.set_viewport_size(size)
        assert overflow <= 0, f"{self.name}: {overflow} px wider than a {width} px screen: {wide}"

    def assert_accessible(self) -> None:
        """No WCAG 2.1 A/AA violations that axe-core finds (contrast, labels, roles…)."""
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.add_script_tag(path=str(AXE))
        violations = self.page.evaluate(_AXE_RUN)
        assert not violations, f"{self.name}: {violations}"

    def check(self) -> None:
        assert not self.errors, f"{self.name}: {self.errors}"

    def close(self) -> None:
        self.context.close()


_WIDE_ELEMENTS = """() => {
  const w = document.documentElement.clientWidth;
  return [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > w + 0.5)
    .slice(0, 8)
    .map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
}"""


_AXE_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
  });
  return result.violations.map((v) => ({
    id: v.id,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
  }));
}"""


def open_page(
    browser: Browser,
    name: str,
    viewport: dict[str, int],
    *,
    origin: str | None = None,
    tolerated: list[re.Pattern[str]] | None = None,
    reduced_motion: bool = False,
) -> Watched:
    context = browser.new_context(
        viewport=viewport,
        locale="en-GB",
        timezone_id="UTC",
        reduced_motion="reduce" if reduced_motion else "no-preference",
    )
    if origin:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    page = context.new_page()
    watched = Watched(name, context, page, tolerated=tolerated or [])
    page.on("console", watched.on_console)
    page.on("pageerror", watched.on_page_error)
    return watched


def setup_link(server_log: str) -> str:
    """The one-time setup link that `accord serve` prints when no mediator exists."""
    match = re.search(r"(http://\S+/setup#\S+)", server_log)
    assert match, f"no setup link in the server's output:\n{server_log}"
    return match.group(1)
