"""The web service in this process, on its own migrated database, and the booking API it calls served
over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from booking.main import SERVICE as BOOKING
from booking.main import create_app as booking_app
from clinic_shared.testing.plugin import TestEnvironment
from clinic_shared.testing.processes import serving_in_thread
from web.main import SERVICE, create_app
from web.settings import WebSettings


@pytest.fixture(scope="session")
def booking_url(test_env: TestEnvironment, service_databases: dict[str, str]) -> Iterator[str]:
    with serving_in_thread(booking_app(test_env.settings(BOOKING)), name="booking") as url:  # type: ignore[arg-type]
        yield url


@pytest.fixture(scope="session")
def web_settings(test_env: TestEnvironment, service_databases: dict[str, str], booking_url: str) -> WebSettings:
    settings = test_env.settings(SERVICE, booking_api_url=booking_url, public_url="http://web.test")
    assert isinstance(settings, WebSettings)
    return settings


@pytest.fixture
async def web(web_settings: WebSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(web_settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test", follow_redirects=False) as client:
        yield client
    await app.state.apis.close()
    await app.state.engine.dispose()
