"""The pages in a real browser (Debian's Chromium, driven by Playwright), always through the gateway,
with every page checked by axe-core for WCAG 2.2 AA as it is reached."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from clinic_shared.testing.plugin import TestEnvironment
from tests.platform import Platform, running_platform

AXE = Path(__file__).resolve().parents[2] / "services" / "web" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
# Screenshots for the README: `CLINIC_SCREENSHOTS=docs/screenshots ./scripts/test tests/browser`.
SHOTS = os.environ.get("CLINIC_SCREENSHOTS")
if SHOTS:
    Path(SHOTS).mkdir(parents=True, exist_ok=True)


def _chromium() -> str:
    candidate = os.environ.get("CLINIC_CHROMIUM", "/usr/bin/chromium")
    if not Path(candidate).exists():
        pytest.fail(
            f"no Chromium at {candidate}: run ./scripts/test (it installs Debian's chromium) or set CLINIC_CHROMIUM"
        )
    return candidate


# Package scope (this directory is a package for it): the platform's workers share the test databases and
# queues, so they must be gone before tests/system starts its own, or the two senders race for the same
# messages and one test's SMS reaches the other's fake provider.
@pytest.fixture(scope="package")
async def platform(
    test_env: TestEnvironment, service_databases: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    await test_env.discard_unpublished_events()
    async with running_platform(test_env, tmp_path_factory.mktemp("platform")) as running:
        yield running


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not AXE.exists():
        pytest.fail("axe-core is not installed: run ./scripts/test (it runs npm ci in services/web)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=_chromium(),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )  # fmt: skip
        yield launched
        await launched.close()


async def new_context(
    browser: Browser, *, viewport: dict[str, int] = DESKTOP, javascript: bool = True
) -> BrowserContext:
    context = await browser.new_context(viewport=viewport, java_script_enabled=javascript, locale="en-GB",
                                        timezone_id="Europe/Amsterdam")  # fmt: skip
    # The machine has no other network, and the pages need none: a request elsewhere is cut short here
    # (and `accessible` fails a page that loaded anything from another origin).
    await context.route(lambda url: not url.startswith("http://127.0.0.1"), lambda route: route.abort())
    return context


async def accessible(page: Page, state: str) -> None:
    """axe-core, injected into the page as it is (its CSP forbids inline scripts: the page's own
    scripts never include it), finds no WCAG 2.2 A/AA violation."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())
    result: dict[str, Any] = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    violations = [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]
    assert violations == [], f"{state}: {violations}"
    origin = page.url.split("/", 3)[:3]
    loaded = await page.evaluate("() => performance.getEntriesByType('resource').map(entry => entry.name)")
    assert [url for url in loaded if url.split("/", 3)[:3] != origin] == [], f"{state}: assets from elsewhere"


async def shot(page: Page, name: str) -> None:
    if SHOTS:  # the folder is made when the run starts (see the browser fixture)
        # Transitions finished: a box just ticked is shown ticked, not half-way through its fade.
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True, animations="disabled")


def weekday_ahead(days_ahead: int) -> str:
    """The first weekday (the test clinic's working days) at least this many days ahead."""
    day = datetime.now(UTC).date() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return str(day)
