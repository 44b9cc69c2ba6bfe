"""The patient's pages in a real browser (Debian's Chromium, driven by Playwright): the preferences page
opened from the link in an e-mail, a choice unticked and saved; the unsubscribe page's button."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, async_playwright
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from clinic_shared.testing.processes import serving_in_thread
from notifications import links
from notifications.main import create_app
from notifications.settings import NotificationsSettings

pytestmark = [pytest.mark.integration, pytest.mark.browser]

NewVisit = Callable[..., Awaitable[Any]]
Deliver = Callable[..., Awaitable[None]]
Send = Callable[..., Awaitable[None]]
NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)


def _chromium() -> str:
    candidate = os.environ.get("CLINIC_CHROMIUM", "/usr/bin/chromium")
    if not Path(candidate).exists():
        pytest.fail(
            f"no Chromium at {candidate}: run ./scripts/test (it installs Debian's chromium) or set CLINIC_CHROMIUM"
        )
    return candidate


@pytest.fixture(scope="module")
def pages(settings: NotificationsSettings) -> Iterator[str]:
    """Notifications' API over real HTTP on 127.0.0.1, for the browser."""
    with serving_in_thread(create_app(settings), name="notifications-pages") as url:
        yield url


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        yield launched
        await launched.close()


async def _choices(engine: AsyncEngine, patient_id: Any) -> dict[tuple[str, str], bool]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT channel, category, allowed FROM preferences WHERE patient_id = :id"), {"id": patient_id}
        )
        return {(row.channel, row.category): row.allowed for row in rows}


async def test_a_patient_unticks_suggestions_by_email_on_the_preferences_page(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine, pages: str, browser: Browser
) -> None:
    visit = await new_visit(marketing_consent=True, phone="+31612345678")
    await deliver(visit.confirmed(), at=NOW)
    await send(NOW)
    [mail] = inbox.to(visit.email)
    [link] = re.findall(r"http://\S+/p/preferences\?token=\S+", mail.get_body(preferencelist=("plain",)).get_content())
    parts = urlsplit(link)

    page = await browser.new_page()
    await page.goto(f"{pages}{parts.path.removeprefix('/api/notifications')}?{parts.query}")
    assert await page.title() == "Your message choices"
    assert await page.is_checked("input[name=email_marketing]")
    assert await page.is_checked("input[name=sms_care]")
    await page.uncheck("input[name=email_marketing]")
    await page.click("button[type=submit]")
    await page.wait_for_selector("text=Saved")

    assert not await page.is_checked("input[name=email_marketing]"), "the page shows what was saved"
    assert await _choices(engine, visit.patient_id) == {
        ("email", "care"): True, ("email", "marketing"): False, ("sms", "care"): True, ("sms", "marketing"): True,
    }  # fmt: skip
    await page.close()


async def test_the_unsubscribe_page_changes_nothing_until_its_button_is_pressed(
    new_visit: NewVisit, engine: AsyncEngine, pages: str, browser: Browser, settings: NotificationsSettings
) -> None:
    visit = await new_visit(marketing_consent=True)
    token = links.unsubscribe_token(
        settings.manage_link_secret.get_secret_value(), patient_id=visit.patient_id, channel="email",
        category="marketing",
    )  # fmt: skip

    page = await browser.new_page()
    await page.goto(f"{pages}/p/unsubscribe?token={token}")
    assert await _choices(engine, visit.patient_id) == {}, "opening the link is not unsubscribing"
    await page.click("button:has-text('Stop these messages')")
    await page.wait_for_selector("text=You are unsubscribed")

    assert await _choices(engine, visit.patient_id) == {("email", "marketing"): False}
    await page.goto(f"{pages}/p/unsubscribe?token={token[:-4]}")
    assert await page.title() == "This link does not work"
    await page.close()
