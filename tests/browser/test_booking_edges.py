"""The booking pages where things go other than planned: no JavaScript at all, a double click on
confirm, a time taken by someone else meanwhile, a hold that runs out, answers that send the patient
to the phone, and a patient who uses the keyboard alone."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from playwright.async_api import Error as PlaywrightError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.browser.conftest import PHONE, accessible, new_context
from tests.browser.test_patient_booking import book_a_visit
from tests.journeys import CONSENT, PATIENT, bookable_clinic, ok
from tests.platform import Platform

pytestmark = [pytest.mark.browser, pytest.mark.system]


async def _sql(platform: Platform, service: str, query: str, **params: Any) -> list[Any]:
    engine = create_async_engine(platform.env.database_url(service))
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(query), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


async def _visits_of(platform: Platform, name: str) -> int:
    rows = await _sql(
        platform, "booking",
        "SELECT count(*) AS n FROM appointments a JOIN patients p ON p.id = a.patient_id WHERE p.display_name = :n",
        n=name,
    )  # fmt: skip
    return int(rows[0].n)


async def _to_details(page: Page, platform: Platform) -> str:
    """Clinic, face, the first free time: the details form with the time held. Returns the held start."""
    await page.goto(f"{platform.url}/clinics/{platform.clinic['id']}")
    await page.check("input[name=areas][value=face]")
    await page.click("button:has-text('See free times')")
    await expect(page.locator("h2", has_text="Choose a time")).to_be_visible()
    first = page.locator("input[name=starts_at]").first
    starts_at = str(await first.get_attribute("value"))
    await first.check()
    await page.click("button:has-text('Hold this time')")
    await expect(page.locator("h2", has_text="Your details")).to_be_visible()
    return starts_at


async def test_the_whole_booking_works_without_javascript(platform: Platform, browser: Browser) -> None:
    context = await new_context(browser, viewport=PHONE, javascript=False)
    page = await context.new_page()
    name = f"No Script {uuid.uuid4().hex[:6]}"

    # The same pages as with JavaScript (whose accessibility the other tests check); axe itself needs it.
    await book_a_visit(page, platform, name=name, email=f"{uuid.uuid4().hex[:8]}@example.org", checked=False)

    for _ in range(60):  # no htmx to poll: the patient uses the page's own link
        if "Confirmed." in await page.inner_text("#status"):
            break
        await asyncio.sleep(0.25)
        await page.click("a:has-text('Check again')")
    await expect(page.locator("#status")).to_contain_text("Confirmed.")
    assert await _visits_of(platform, name) == 1
    await context.close()


async def test_a_double_click_on_confirm_books_once(platform: Platform, browser: Browser) -> None:
    context = await new_context(browser)
    page = await context.new_page()
    name = f"Double Click {uuid.uuid4().hex[:6]}"
    await _to_details(page, platform)
    await page.fill("#display_name", name)
    await page.fill("#email", f"{uuid.uuid4().hex[:8]}@example.org")
    await page.check("input[name=consent]")

    await page.dblclick("button:has-text('Book this visit')")

    await page.wait_for_url("**/manage/*")
    await asyncio.sleep(1)  # a second request, had there been one, has landed by now
    assert await _visits_of(platform, name) == 1
    await context.close()


async def test_a_time_taken_meanwhile_shows_the_free_ones_instead(platform: Platform, browser: Browser) -> None:
    context = await new_context(browser)
    page = await context.new_page()
    await page.goto(f"{platform.url}/clinics/{platform.clinic['id']}")
    await page.check("input[name=areas][value=face]")
    await page.click("button:has-text('See free times')")
    first = page.locator("input[name=starts_at]").first
    wanted = str(await first.get_attribute("value"))
    async with httpx.AsyncClient(base_url=platform.apis["booking"]) as booking:  # someone else is faster
        ok(await booking.post("/appointments", json={
            "clinic_id": platform.clinic["id"], "treatment_id": platform.clinic["treatment_id"], "areas": ["face"],
            "starts_at": wanted, "patient": PATIENT, "consent": CONSENT,
        }))  # fmt: skip

    await first.check()
    await page.click("button:has-text('Hold this time')")

    await expect(page.locator(".notice")).to_contain_text("Someone booked that time a moment before you")
    assert await page.locator("input[name=starts_at]").count() > 0, "free times to choose from instead"
    assert await page.locator(f"input[name=starts_at][value='{wanted}']").count() == 0
    await accessible(page, "time taken")
    await context.close()


async def test_a_hold_that_ran_out_books_the_time_if_still_free_and_otherwise_offers_others(
    platform: Platform, browser: Browser
) -> None:
    context = await new_context(browser)
    page = await context.new_page()
    starts_at = await _to_details(page, platform)
    await expect(page.locator(".hold")).to_contain_text("We hold this time for you until")
    await page.fill("#display_name", "Late Patient")
    await page.fill("#email", f"{uuid.uuid4().hex[:8]}@example.org")
    await page.check("input[name=consent]")
    await _sql(platform, "booking", "UPDATE appointments SET held_until = now() - interval '1 second' "
               "WHERE status = 'held' AND starts_at = :s", s=datetime.fromisoformat(starts_at))  # fmt: skip
    await asyncio.sleep(6)  # the worker's sweep lets the time go; someone else takes it
    async with httpx.AsyncClient(base_url=platform.apis["booking"]) as booking:
        ok(await booking.post("/appointments", json={
            "clinic_id": platform.clinic["id"], "treatment_id": platform.clinic["treatment_id"], "areas": ["face"],
            "starts_at": starts_at, "patient": PATIENT, "consent": CONSENT,
        }))  # fmt: skip

    await page.click("button:has-text('Book this visit')")

    await expect(page.locator(".notice")).to_contain_text("Someone booked that time a moment before you")
    await accessible(page, "hold ran out, time taken")
    await context.close()


async def test_answers_that_stop_online_booking_send_the_patient_to_the_phone_before_any_time(
    platform: Platform, browser: Browser
) -> None:
    async with httpx.AsyncClient(base_url=platform.apis["booking"]) as booking:
        place = await bookable_clinic(booking, platform.env)
        questions = [
            {
                "key": "infection",
                "text": "Do you have an active skin infection?",
                "flags_when": True,
                "effect": "block",
            },
            {"key": "thinners", "text": "Do you take blood thinners?", "flags_when": True, "effect": "review"},
        ]
        ok(await booking.put(f"/clinics/{place['id']}/screening", headers=platform.admin(), json=questions))
    context = await new_context(browser, viewport=PHONE)
    page = await context.new_page()
    await page.goto(f"{platform.url}/clinics/{place['id']}")
    await page.check("input[name=areas][value=face]")
    await page.click("button:has-text('Continue to a few questions')")
    await accessible(page, "screening")

    await page.check("input[name='answer.infection'][value=yes]")
    await page.check("input[name='answer.thinners'][value=no]")
    await page.click("button:has-text('See free times')")

    await expect(page.locator("h2", has_text="Please call the clinic to book")).to_be_visible()
    await expect(page.locator("main")).to_contain_text("+31205550100")
    assert await page.locator("input[name=starts_at]").count() == 0, "no time was offered"
    await accessible(page, "call the clinic")
    await page.goto(f"{platform.url}/clinics/{place['id']}")  # another patient, other answers
    await page.check("input[name=areas][value=face]")
    await page.click("button:has-text('Continue to a few questions')")
    await page.check("input[name='answer.infection'][value=no]")
    await page.check("input[name='answer.thinners'][value=yes]")
    await page.click("button:has-text('See free times')")
    await expect(page.locator("h2", has_text="Choose a time")).to_be_visible()
    await context.close()


async def _tab_to(page: Page, selector: str, *, limit: int = 80) -> None:
    """Press Tab until the element focused matches `selector`: the way a keyboard user gets there."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        try:
            if await page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
                return
        except PlaywrightError:  # the page was replaced by the one the last key led to: look again
            await page.wait_for_load_state()
    raise AssertionError(f"Tab never reached {selector}")


async def test_a_patient_books_with_the_keyboard_alone(platform: Platform, browser: Browser) -> None:
    context = await new_context(browser)
    page = await context.new_page()
    name = f"Keyboard {uuid.uuid4().hex[:6]}"
    await page.goto(platform.url)

    # Other tests add clinics to the list, so a keyboard user searches first, as they would for theirs.
    await _tab_to(page, "#q")
    await page.keyboard.type(platform.clinic["name"])
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/?q=*")
    await _tab_to(page, f"a[href='/clinics/{platform.clinic['id']}']")
    await page.keyboard.press("Enter")
    await _tab_to(page, "input[name=areas][value=face]")
    await page.keyboard.press("Space")
    await _tab_to(page, "button[type=submit]")
    await page.keyboard.press("Enter")
    await _tab_to(page, "input[name=starts_at]")
    await page.keyboard.press("Space")
    await _tab_to(page, "form[action='/book/hold'] button[type=submit]")
    await page.keyboard.press("Enter")
    await _tab_to(page, "#display_name")
    await page.keyboard.type(name)
    await _tab_to(page, "#email")
    await page.keyboard.type(f"{uuid.uuid4().hex[:8]}@example.org")
    await _tab_to(page, "input[name=consent]")
    await page.keyboard.press("Space")
    await _tab_to(page, "form[action='/book/confirm'] button[type=submit]:not([formaction])")
    await page.keyboard.press("Enter")

    await page.wait_for_url("**/manage/*")
    assert await _visits_of(platform, name) == 1
    await context.close()


async def test_details_the_api_refuses_are_marked_in_place_in_the_patients_words_with_the_input_kept(
    platform: Platform, browser: Browser
) -> None:
    context = await new_context(browser, viewport=PHONE)
    page = await context.new_page()
    await _to_details(page, platform)
    await page.fill("#email", "sam@example.org")
    await page.check("input[name=consent]")

    await page.click("button:has-text('Book this visit')")  # no name: the form leaves the check to booking

    await expect(page.locator("#display_name-error")).to_have_text("Please enter your name.")
    await expect(page.locator("#display_name")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#email")).to_have_value("sam@example.org")
    await expect(page.locator("main")).not_to_contain_text("String should have")
    await accessible(page, "details refused")
    await context.close()
