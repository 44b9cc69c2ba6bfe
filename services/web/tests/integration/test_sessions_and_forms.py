"""Sessions, forms and failures as a browser meets them: a cookie only when there is something to keep,
HttpOnly and SameSite=Lax (Secure outside development); a form from another site or an old page is
refused; a link's token leaves the address at once; an ended session opens nothing; an API that is
down is a page that says to try again, never JSON."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from clinic_shared.testing.plugin import TestEnvironment
from clinic_shared.testing.processes import free_port
from tests.journeys import bookable_clinic
from web.main import create_app
from web.settings import WebSettings

pytestmark = pytest.mark.integration


async def _clinic(booking_url: str, test_env: TestEnvironment) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=booking_url) as booking:
        return await bookable_clinic(booking, test_env)


async def _sessions(test_env: TestEnvironment) -> int:
    engine = create_async_engine(test_env.database_url("web"))
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(text("SELECT count(*) FROM sessions")) or 0)
    finally:
        await engine.dispose()


async def test_reading_needs_no_session_and_a_form_gets_a_safe_cookie(
    web: httpx.AsyncClient, booking_url: str, test_env: TestEnvironment
) -> None:
    clinic = await _clinic(booking_url, test_env)
    before = await _sessions(test_env)

    home = await web.get("/")
    page = await web.get(f"/clinics/{clinic['id']}")

    assert home.status_code == 200
    assert "set-cookie" not in home.headers, "a visitor who only reads gets no session"
    cookie = page.headers["set-cookie"]
    assert re.match(r"clinic_session=[\w-]{40,};", cookie)
    assert {"HttpOnly", "SameSite=Lax", "Path=/"} <= {part.strip() for part in cookie.split(";")}
    assert "Secure" not in cookie, "development runs on plain http"
    assert await _sessions(test_env) == before + 1


async def test_a_form_without_this_sessions_token_is_refused(
    web: httpx.AsyncClient, booking_url: str, test_env: TestEnvironment
) -> None:
    clinic = await _clinic(booking_url, test_env)
    await web.get(f"/clinics/{clinic['id']}")  # this session's token exists now
    form = {"clinic_id": clinic["id"], "treatment_id": clinic["treatment_id"], "areas": "face"}

    missing = await web.post("/book", data=form)
    forged = await web.post("/book", data={**form, "csrf": "guessed"})

    for answer in (missing, forged):
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("text/html")
        assert "This form has expired" in answer.text


async def test_opening_a_link_moves_its_token_into_the_session_and_a_bad_one_gets_a_page(
    web: httpx.AsyncClient,
) -> None:
    visit = uuid.uuid4()

    opened = await web.get(f"/manage/{visit}", params={"token": "not-a-real-token"})
    shown = await web.get(f"/manage/{visit}")

    assert (opened.status_code, opened.headers["location"]) == (303, f"/manage/{visit}")
    assert "token" not in opened.headers["location"]
    assert shown.status_code == 403
    assert "This link does not work any more" in shown.text
    assert shown.headers["content-type"].startswith("text/html")


async def test_a_session_past_its_idle_time_opens_nothing_and_the_browser_forgets_it(
    web: httpx.AsyncClient, test_env: TestEnvironment
) -> None:
    visit = uuid.uuid4()
    await web.get(f"/manage/{visit}", params={"token": "some-token"})
    engine = create_async_engine(test_env.database_url("web"))
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE sessions SET last_seen_at = now() - interval '3 hours'"))
    finally:
        await engine.dispose()

    later = await web.get("/staff")

    assert "Your session ended" in later.text
    assert "Max-Age=0" in later.headers["set-cookie"]


async def test_cookies_are_secure_outside_development(web_settings: WebSettings) -> None:
    app = create_app(web_settings.model_copy(update={"environment": "staging"}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as client:
        answer = await client.get(f"/manage/{uuid.uuid4()}", params={"token": "t"})
    await app.state.apis.close()
    await app.state.engine.dispose()
    assert "Secure" in answer.headers["set-cookie"]


async def test_an_api_that_is_down_is_a_page_that_says_to_try_again(web_settings: WebSettings) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    app = create_app(web_settings.model_copy(update={"booking_api_url": nowhere, "api_read_retries": 1}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as client:
        answer = await client.get("/")
    await app.state.apis.close()
    await app.state.engine.dispose()
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("text/html")
    assert "Please try again in a minute, or call your clinic" in answer.text
