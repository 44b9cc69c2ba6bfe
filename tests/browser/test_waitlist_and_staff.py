"""A waiting patient takes a freed time from the link in their offer; staff sign in on the provider's
own login page, see their clinic's stock, sign out, and find an ended session ended."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from clinic_shared.auth import Role
from tests.browser.conftest import PHONE, accessible, new_context, weekday_ahead
from tests.journeys import CONSENT, ok
from tests.platform import Platform

pytestmark = [pytest.mark.browser, pytest.mark.system]


async def _fill_the_day(booking: httpx.AsyncClient, platform: Platform, day: str) -> list[str]:
    """Book every free time of the day (the clinic has one practitioner, room and device)."""
    clinic, booked = platform.clinic, []
    while True:
        free = ok(await booking.get(f"/clinics/{clinic['id']}/availability", params={
            "treatment_id": clinic["treatment_id"], "areas": ["face"], "from": day, "to": day}))["slots"]  # fmt: skip
        if not free:
            return booked
        visit = ok(await booking.post("/appointments", json={
            "clinic_id": clinic["id"], "treatment_id": clinic["treatment_id"], "areas": ["face"],
            "starts_at": free[0]["starts_at"], "consent": CONSENT,
            "patient": {"display_name": "Busy Day", "email": "busy@example.org", "care_messages_consent": True},
        }))  # fmt: skip
        booked.append(visit["appointment"]["id"])


async def test_a_waiting_patient_takes_a_freed_time_from_the_offer_link(platform: Platform, browser: Browser) -> None:
    day, email = weekday_ahead(9), f"w-{uuid.uuid4().hex[:8]}@example.org"
    async with httpx.AsyncClient(base_url=platform.apis["booking"]) as booking:
        booked = await _fill_the_day(booking, platform, day)
        ok(await booking.post(f"/clinics/{platform.clinic['id']}/waitlist", json={
            "treatment_id": platform.clinic["treatment_id"], "areas": ["face"], "from": day, "to": day,
            "patient": {"display_name": "Wendy Waiting", "email": email, "care_messages_consent": True},
            "consent": CONSENT,
        }))  # fmt: skip
        desk = platform.env.auth_header(Role.FRONT_DESK, clinics=[uuid.UUID(platform.clinic["id"])])
        ok(await booking.post(f"/appointments/{booked[0]}/cancel", json={}, headers=desk))
    link = await platform.mail.arriving_link(email, "/waitlist/")

    context = await new_context(browser, viewport=PHONE)
    page = await context.new_page()
    await page.goto(link)
    assert "token=" not in page.url
    await expect(page.locator("#offer-heading")).to_contain_text("A time is free for you")
    await accessible(page, "waitlist offer")
    await page.click("button:has-text('Take this time')")

    await page.wait_for_url("**/manage/*")
    await expect(page.locator("#status")).to_contain_text("Confirmed.", timeout=15_000)
    await accessible(page, "offer taken")
    await context.close()


async def _sign_in(page: Any, platform: Platform, login: str) -> None:
    await page.goto(f"{platform.url}/staff")
    await accessible(page, "staff sign-in")
    await page.click("a:has-text('Sign in')")
    await page.wait_for_selector("input[name=login]")  # the provider's own login page
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", "any password")
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{platform.url}/staff")


async def test_staff_sign_in_at_the_provider_see_their_stock_and_sign_out(platform: Platform, browser: Browser) -> None:
    context = await new_context(browser)
    page = await context.new_page()

    await _sign_in(page, platform, "manager")

    await expect(page.locator("h1")).to_contain_text("Welcome, Mira Manager")
    await accessible(page, "staff home")
    await page.goto(f"{platform.url}/staff/clinics/{platform.clinic['id']}/stock")
    await expect(page.locator("table")).to_contain_text("PL-C1")
    await accessible(page, "stock")
    await page.goto(f"{platform.url}/staff")
    await page.click("button:has-text('Sign out')")
    await page.click("button[autofocus], button[type=submit]")  # the provider asks to confirm its sign-out
    await expect(page.locator(".notice")).to_contain_text("You are signed out.")
    await accessible(page, "signed out")
    # Signed out at the provider too: the stock page now asks who is there, nobody is signed in silently.
    await page.goto(f"{platform.url}/staff/clinics/{platform.clinic['id']}/stock")
    await page.wait_for_selector("input[name=login]")
    await context.close()


async def test_an_ended_session_asks_to_sign_in_again(platform: Platform, browser: Browser) -> None:
    context = await new_context(browser)
    page = await context.new_page()
    await _sign_in(page, platform, "desk")
    engine = create_async_engine(platform.env.database_url("web"))
    try:
        async with engine.begin() as connection:  # as if the idle time had passed
            await connection.execute(text("UPDATE sessions SET last_seen_at = now() - interval '1 day'"))
    finally:
        await engine.dispose()

    await page.goto(f"{platform.url}/staff")

    await expect(page.locator(".notice")).to_contain_text("Your session ended. Please sign in again.")
    await accessible(page, "session ended")
    await context.close()
