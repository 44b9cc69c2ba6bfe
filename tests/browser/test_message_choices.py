"""The link at the foot of every message opens the patient's message choices through the gateway: the
page is styled under the gateway's CSP (no inline style), accessible, and saves a choice."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import PHONE, accessible, new_context, weekday_ahead
from tests.journeys import CONSENT, ok
from tests.platform import Platform

pytestmark = [pytest.mark.browser, pytest.mark.system]


async def test_a_patient_changes_their_message_choices_from_the_link_in_an_email(
    platform: Platform, browser: Browser
) -> None:
    email = f"m-{uuid.uuid4().hex[:8]}@example.org"
    clinic, day = platform.clinic, weekday_ahead(12)
    async with httpx.AsyncClient(base_url=platform.apis["booking"]) as booking:
        [slot, *_] = ok(await booking.get(f"/clinics/{clinic['id']}/availability", params={
            "treatment_id": clinic["treatment_id"], "areas": ["face"], "from": day, "to": day}))["slots"]  # fmt: skip
        ok(await booking.post("/appointments", json={
            "clinic_id": clinic["id"], "treatment_id": clinic["treatment_id"], "areas": ["face"],
            "starts_at": slot["starts_at"], "consent": CONSENT,
            "patient": {"display_name": "Mira Choices", "email": email, "care_messages_consent": True,
                        "marketing_consent": True},
        }))  # fmt: skip
    link = await platform.mail.arriving_link(email, "/p/preferences")
    assert link.startswith(f"{platform.url}/api/notifications/p/preferences?token=")

    context = await new_context(browser, viewport=PHONE)
    page = await context.new_page()
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    await page.goto(link)

    await expect(page.locator("h1")).to_have_text("Your message choices")
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(246, 243, 241)", "the page's own stylesheet applies"
    assert refused == []
    await accessible(page, "message choices")
    await page.uncheck("input[name=email_marketing]")
    await page.click("button[type=submit]")
    await expect(page.locator(".done")).to_contain_text("Saved")
    assert not await page.is_checked("input[name=email_marketing]")
    assert await page.is_checked("input[name=email_care]")
    await context.close()
