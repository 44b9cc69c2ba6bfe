"""`Api.reference`: a clinic's seldom-changing public data is asked for once per `reference_ttl_s`, over
real HTTP to a small API in this process that counts what it is asked."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clinic_shared.testing.processes import serving_in_thread
from web.clients import Api

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def counted() -> Iterator[tuple[str, Counter[str]]]:
    asked: Counter[str] = Counter()

    async def clinic(request: Request) -> JSONResponse:
        asked[str(request.url.path) + ("?" + request.url.query if request.url.query else "")] += 1
        if request.path_params["name"] == "gone":
            return JSONResponse({"code": "not_found"}, status_code=404)
        return JSONResponse({"name": request.path_params["name"], "asked": asked[str(request.url.path)]})

    app = Starlette(routes=[Route("/clinics/{name}", clinic)])
    with serving_in_thread(app, name="reference-api") as url:
        yield url, asked


@asynccontextmanager
async def _api(url: str, *, ttl_s: float) -> AsyncIterator[Api]:
    api = Api("booking", url, timeout_s=5, read_retries=0, reference_ttl_s=ttl_s)
    try:
        yield api
    finally:
        await api.close()


async def test_a_reference_read_is_answered_from_memory_until_its_time_is_up(
    counted: tuple[str, Counter[str]],
) -> None:
    url, asked = counted
    async with _api(url, ttl_s=0.3) as api:
        first = await api.reference("/clinics/north")
        again = await api.reference("/clinics/north")
        assert (first.body, again.body) == ({"name": "north", "asked": 1}, {"name": "north", "asked": 1})
        assert asked["/clinics/north"] == 1

        await asyncio.sleep(0.35)
        assert (await api.reference("/clinics/north")).body == {"name": "north", "asked": 2}
        assert asked["/clinics/north"] == 2


async def test_other_parameters_are_another_read_and_a_refusal_is_never_kept(
    counted: tuple[str, Counter[str]],
) -> None:
    url, asked = counted
    async with _api(url, ttl_s=60) as api:
        await api.reference("/clinics/south", limit=10)
        await api.reference("/clinics/south", limit=20)
        await api.reference("/clinics/south", limit=10)
        assert (asked["/clinics/south?limit=10"], asked["/clinics/south?limit=20"]) == (1, 1)

        assert (await api.reference("/clinics/gone")).status == 404
        assert (await api.reference("/clinics/gone")).status == 404
        assert asked["/clinics/gone"] == 2


async def test_a_time_of_zero_asks_every_time(counted: tuple[str, Counter[str]]) -> None:
    url, asked = counted
    async with _api(url, ttl_s=0) as api:
        for _ in range(3):
            await api.reference("/clinics/east")
        assert asked["/clinics/east"] == 3
