"""Cross-service fixtures: every service in this process, each with its API and its worker running."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest

from clinic_shared.runtime import discover_services
from clinic_shared.testing.plugin import TestEnvironment


@pytest.fixture(scope="module")
async def platform(
    test_env: TestEnvironment, service_databases: dict[str, str]
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """API clients of every service, with every worker running."""
    services = discover_services()
    await test_env.discard_unpublished_events()
    clients: dict[str, httpx.AsyncClient] = {}
    async with AsyncExitStack() as stack:
        for name, definition in services.items():
            settings = test_env.settings(definition)
            if definition.has_worker:
                worker = definition.worker(settings)
                await stack.enter_async_context(worker.router.lifespan_context(worker))
            api = definition.api(settings)
            stack.push_async_callback(api.state.engine.dispose)
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url=f"http://{name}.test")
            )
        yield clients
