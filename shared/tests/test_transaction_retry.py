"""A request whose transaction loses a deadlock is run again from the start, with its body, instead of
answering 500; anything else that fails is not, and nothing is run again once an answer has begun."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from clinic_shared.metrics import TRANSACTIONS_RETRIED
from clinic_shared.web import build_app


class Move(BaseModel):
    first: str
    then: str


def _retried(reason: str) -> float:
    return TRANSACTIONS_RETRIED.labels("probe", reason)._value.get()


def _app(engine: AsyncEngine, router: APIRouter) -> FastAPI:
    return build_app(
        service="probe", title="Probe", description="", engine=engine, routers=[router], error_status={},
        readiness={}, docs=False,
    )  # fmt: skip


@pytest.fixture
async def accounts(plumbing_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(plumbing_database, pool_size=4)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE IF NOT EXISTS probe_accounts (id text PRIMARY KEY, n int)"))
        await connection.execute(text("DELETE FROM probe_accounts"))
        await connection.execute(text("INSERT INTO probe_accounts VALUES ('a', 0), ('b', 0)"))
    yield engine
    await engine.dispose()


@pytest.mark.integration
async def test_two_requests_that_deadlock_in_postgresql_both_succeed(accounts: AsyncEngine) -> None:
    router = APIRouter()
    both_hold_their_first_row = asyncio.Barrier(2)
    attempts: list[Move] = []

    @router.post("/moves")
    async def move(body: Move) -> dict[str, str]:
        attempts.append(body)
        async with accounts.begin() as connection:
            await connection.execute(text("UPDATE probe_accounts SET n = n + 1 WHERE id = :id"), {"id": body.first})
            if len(attempts) <= 2:  # the first two attempts meet here, each holding the other's next row
                await both_hold_their_first_row.wait()
            await connection.execute(text("UPDATE probe_accounts SET n = n + 1 WHERE id = :id"), {"id": body.then})
        return {"moved": f"{body.first}{body.then}"}

    before = _retried("deadlock_detected")
    transport = httpx.ASGITransport(app=_app(accounts, router))
    async with httpx.AsyncClient(transport=transport, base_url="http://probe.test") as client:
        answers = await asyncio.gather(
            client.post("/moves", json={"first": "a", "then": "b"}),
            client.post("/moves", json={"first": "b", "then": "a"}),
        )

    assert [a.status_code for a in answers] == [200, 200]
    assert {a.json()["moved"] for a in answers} == {"ab", "ba"}
    assert len(attempts) == 3, "the loser of the deadlock ran once more, with the body it was sent"
    assert attempts[2] in attempts[:2]
    assert _retried("deadlock_detected") == before + 1
    async with accounts.connect() as connection:
        counts = dict((await connection.execute(text("SELECT id, n FROM probe_accounts"))).all())
    assert counts == {"a": 2, "b": 2}, "the rolled-back first attempt left nothing behind"


class _Deadlock(Exception):
    sqlstate = "40P01"


def _deadlock() -> DBAPIError:
    return DBAPIError("UPDATE ...", None, _Deadlock("deadlock detected"))


async def _call(router: APIRouter, method: str, path: str, **kwargs: Any) -> httpx.Response:
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1/none")  # never connected
    transport = httpx.ASGITransport(app=_app(engine, router), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe.test") as client:
        return await client.request(method, path, **kwargs)


@pytest.mark.unit
async def test_a_request_that_keeps_losing_deadlocks_gives_up_after_a_few_attempts(
    expect_unhandled_errors: Callable[[int], None],
) -> None:
    expect_unhandled_errors(1)
    router = APIRouter()
    calls = []

    @router.post("/always")
    async def always(body: Move) -> None:
        calls.append(body)
        raise _deadlock()

    answer = await _call(router, "POST", "/always", json={"first": "a", "then": "b"})

    assert answer.status_code == 500
    assert len(calls) == 4
    assert all(call == calls[0] for call in calls)


@pytest.mark.unit
async def test_other_failures_are_not_run_again(expect_unhandled_errors: Callable[[int], None]) -> None:
    expect_unhandled_errors(1)
    router = APIRouter()
    calls = []

    @router.get("/broken")
    async def broken() -> None:
        calls.append(1)
        raise DBAPIError("SELECT ...", None, Exception("connection refused"))

    answer = await _call(router, "GET", "/broken")

    assert (answer.status_code, len(calls)) == (500, 1)


@pytest.mark.unit
async def test_nothing_is_run_again_once_the_answer_has_begun(expect_unhandled_errors: Callable[[int], None]) -> None:
    expect_unhandled_errors(1)
    router = APIRouter()
    calls = []

    @router.get("/stream")
    async def stream() -> StreamingResponse:
        calls.append(1)

        async def chunks() -> AsyncIterator[bytes]:
            yield b"first part"
            raise _deadlock()

        return StreamingResponse(chunks())

    answer = await _call(router, "GET", "/stream")

    assert (answer.status_code, answer.content, len(calls)) == (200, b"first part", 1)
