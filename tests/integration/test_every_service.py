"""What every service's API and worker process has: health, readiness, metrics, offline docs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from clinic_shared.runtime import ServiceDefinition, discover_services
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

SERVICES = list(discover_services().values())
WORKERS = [definition for definition in SERVICES if definition.has_worker]


@pytest.fixture(params=SERVICES, ids=lambda d: d.name)
async def api(
    request: pytest.FixtureRequest, test_env: TestEnvironment, service_databases: dict[str, str]
) -> AsyncIterator[tuple[ServiceDefinition, httpx.AsyncClient]]:
    definition: ServiceDefinition = request.param
    app = definition.api(test_env.settings(definition))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc.test") as client:
        yield definition, client
    await app.state.engine.dispose()


@pytest.fixture(params=WORKERS, ids=lambda d: d.name)
async def worker(
    request: pytest.FixtureRequest, test_env: TestEnvironment, service_databases: dict[str, str]
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    definition: ServiceDefinition = request.param
    app = definition.worker(test_env.settings(definition))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://worker.test") as client:
            yield app, client


async def test_the_api_is_alive_ready_and_measured(api: tuple[ServiceDefinition, httpx.AsyncClient]) -> None:
    definition, api = api
    assert (await api.get("/healthz")).json()["status"] == "ok"
    ready = await api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True}
    metrics = (await api.get("/metrics")).text
    assert 'http_requests_total{method="GET",route="/readyz"' in metrics
    assert (f'outbox_lag_seconds{{service="{definition.name}"}}' in metrics) == definition.outbox


async def test_the_worker_is_ready_once_broker_consumers_and_relay_run(
    worker: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = worker
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": True, "broker": True, "consumers": True, "outbox_relay": True}
    assert "outbox_pending_events" in (await client.get("/metrics")).text


async def test_the_worker_reports_not_ready_when_its_consumers_are_gone(
    worker: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = worker
    if not app.state.runners:
        pytest.skip("this service has no consumers yet")
    await app.state.runners[0].stop()
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["consumers"] is False


async def test_the_openapi_page_works_offline(api: tuple[ServiceDefinition, httpx.AsyncClient]) -> None:
    definition, api = api
    if not definition.api_docs:
        assert (await api.get("/docs")).status_code == 404
        return
    page = (await api.get("/docs")).text
    assert "/docs/assets/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert "http://" not in page
    assert "https://" not in page.replace("https://swagger.io", "")
    script = await api.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert len(script.content) > 100_000
    assert (await api.get("/docs/assets/swagger-ui.css")).status_code == 200
    assert (await api.get("/openapi.json")).json()["info"]["title"]


async def test_a_missing_route_answers_with_the_error_body(api: tuple[ServiceDefinition, httpx.AsyncClient]) -> None:
    definition, api = api
    response = await api.get("/no-such-thing")
    assert response.status_code == 404
    if definition.api_docs:  # an API: its JSON error body
        assert response.json() == {"code": "http_404", "message": "Not Found"}
    else:  # the pages: a page of ours
        assert response.headers["content-type"].startswith("text/html")
