"""A patient books through the gateway, with and without JavaScript, at phone and desktop width: the
visit is confirmed by itself, the link in the e-mail opens the manage page, the visit is moved and
then cancelled. Every page on the way is checked for accessibility."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, accessible, new_context, shot
from tests.browser.conftest import accessible as check_accessible
from tests.platform import Platform

pytestmark = [pytest.mark.browser, pytest.mark.system]


async def _choose_a_day_a_week_ahead(page: Page) -> None:
    """The first day shown is the first with free times (maybe today); a visit a week ahead can still
    be changed online, which the rest of the journey does."""
    day = datetime.now(UTC).date() + timedelta(days=7)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    await page.click(f"button[name=day][value='{day}']")
    await expect(page.locator("legend", has_text="Free times on")).to_contain_text(f"{day.day}")


async def book_a_visit(
    page: Page, platform: Platform, *, name: str, email: str, shots: str | None = None, checked: bool = True
) -> str:
    """From the home page to the visit's page, every page checked by axe on the way (`checked`);
    returns the visit page's URL."""

    async def accessible(page: Page, state: str) -> None:
        if checked:
            await check_accessible(page, state)

    await page.goto(platform.url)
    await accessible(page, "clinics")
    if shots:
        await shot(page, f"{shots}-1-clinics")
    await page.click(f"a[href='/clinics/{platform.clinic['id']}']")
    await accessible(page, "clinic")
    await page.check("input[name=areas][value=face]")
    if shots:
        await shot(page, f"{shots}-2-treatment")
    await page.click("button:has-text('See free times')")
    await expect(page.locator("h2", has_text="Choose a time")).to_be_visible()
    await _choose_a_day_a_week_ahead(page)
    await accessible(page, "times")
    if shots:
        await shot(page, f"{shots}-3-times")
    await page.locator("input[name=starts_at]").first.check()
    await page.click("button:has-text('Hold this time')")
    await expect(page.locator("h2", has_text="Your details")).to_be_visible()
    await accessible(page, "details")
    await page.fill("#display_name", name)
    await page.fill("#email", email)
    await page.check("input[name=consent]")
    if shots:
        await shot(page, f"{shots}-4-details")
    await page.click("button:has-text('Book this visit')")
    await page.wait_for_url("**/manage/*")
    return page.url


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_a_patient_books_is_confirmed_and_moves_then_cancels_from_the_email_link(
    platform: Platform, browser: Browser, viewport: dict[str, int]
) -> None:
    email = f"p-{uuid.uuid4().hex[:8]}@example.org"
    context = await new_context(browser, viewport=viewport)
    page = await context.new_page()
    phone = viewport is PHONE

    visit_url = await book_a_visit(
        page, platform, name="Robin Patient", email=email, shots="booking" if phone else None
    )

    await expect(page.locator("#status")).to_contain_text("Confirmed.", timeout=15_000)  # htmx polls, no reload
    # ...and the same poll brings the changes a confirmed visit allows.
    await expect(page.locator("a", has_text="Move to another time")).to_be_visible()
    await accessible(page, "confirmed visit")
    if phone:
        await shot(page, "booking-5-confirmed")
    await context.close()

    # The patient opens the link from the confirmation e-mail, in another browser.
    link = await platform.mail.arriving_link(email, "/manage/")
    assert urlsplit_path(link) == urlsplit_path(visit_url)
    context = await new_context(browser, viewport=viewport)
    page = await context.new_page()
    await page.goto(link)
    assert "token=" not in page.url, "the token leaves the address at once"
    await expect(page.locator("#status")).to_contain_text("Confirmed.")
    await page.click("a:has-text('Move to another time')")
    await accessible(page, "move: times")
    await page.locator("input[name=starts_at]").nth(1).check()
    await page.click("button:has-text('Move my visit to this time')")
    await expect(page.locator(".notice")).to_contain_text("Your visit is moved")
    await page.click("a:has-text('Cancel the visit')")
    await accessible(page, "cancel: confirm step")
    await expect(page.locator("main")).to_contain_text("The time goes to other patients")
    await page.click("button:has-text('Yes, cancel the visit')")
    await expect(page.locator(".notice")).to_contain_text("Your visit is cancelled")
    await accessible(page, "cancelled visit")
    await context.close()


def urlsplit_path(url: str) -> str:
    return urlsplit(url).path
