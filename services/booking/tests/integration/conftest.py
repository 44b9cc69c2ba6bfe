from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from booking.main import SERVICE, create_app
from booking.settings import BookingSettings
from clinic_shared.testing.plugin import TestEnvironment


@pytest.fixture(scope="session")
async def booking(test_env: TestEnvironment, service_databases: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    settings = test_env.settings(SERVICE)
    assert isinstance(settings, BookingSettings)
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://booking.test") as client:
        yield client
    await app.state.engine.dispose()
