"""Idempotency keys against the real database: replay, reuse, in-flight retries, rollback, expiry."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import func, insert, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from clinic_shared.db import create_session_factory, new_metadata, violated_constraint
from clinic_shared.errors import Conflict, InvalidInput
from clinic_shared.idempotency import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    IdempotencyStore,
    InvalidIdempotencyKey,
    StoredResponse,
    fingerprint,
    prune_idempotency_keys,
)
from clinic_shared.migrations import create_idempotency_v1, create_plumbing_v1, drop_idempotency_v1
from clinic_shared.tables import idempotency_keys
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

ROUTE = "POST /appointments"
BOOKING = {"clinic_id": "c-1", "starts_at": "2030-01-01T09:00:00Z"}
ANSWER = {"id": "a-1", "status": "booked"}


def _operations(connection: Connection) -> Operations:
    # The convention as the services' env.py hands it to Alembic, so constraint names match theirs.
    return Operations(MigrationContext.configure(connection, opts={"target_metadata": new_metadata()}))


@pytest.fixture(scope="module")
async def engine(test_env: TestEnvironment) -> AsyncIterator[AsyncEngine]:
    name = f"t_{test_env.run_id}_idempotency"
    await test_env.create_database(name)
    engine = create_async_engine(test_env.database_url("idempotency"))
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: create_plumbing_v1(_operations(sync)))
        await connection.run_sync(lambda sync: create_idempotency_v1(_operations(sync)))
    yield engine
    await engine.dispose()
    await test_env.drop_database(name)


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
def caller() -> str:
    """A caller of this test's own, so tests never see each other's keys."""
    return f"user:{uuid.uuid4()}"


async def _answer(
    sessions: async_sessionmaker[AsyncSession], *, scope: str, key: str, body: dict[str, str], route: str = ROUTE
) -> StoredResponse | None:
    """One request in its own transaction: replay, or do the work and remember the answer."""
    async with sessions() as session:
        store = IdempotencyStore(session)
        if stored := await store.claim(scope=scope, route=route, key=key, fingerprint=fingerprint(body)):
            return stored
        await store.remember(
            scope=scope, route=route, key=key, fingerprint=fingerprint(body), status_code=201, body=ANSWER
        )
        await session.commit()
    return None


async def _stored_rows(engine: AsyncEngine, *, scope: str) -> int:
    async with engine.connect() as connection:
        counted = await connection.execute(
            select(func.count()).select_from(idempotency_keys).where(idempotency_keys.c.scope == scope)
        )
        return counted.scalar_one()


async def _expire(engine: AsyncEngine, *, scope: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.scope == scope)
            .values(expires_at=func.now() - timedelta(hours=1))
        )


async def test_replay_after_commit_returns_the_first_status_and_body(
    sessions: async_sessionmaker[AsyncSession], caller: str
) -> None:
    first = await _answer(sessions, scope=caller, key="k-1", body=BOOKING)
    replay = await _answer(sessions, scope=caller, key="k-1", body=dict(reversed(BOOKING.items())))

    assert first is None
    assert replay == StoredResponse(status_code=201, body=ANSWER)


async def test_an_answer_without_a_body_replays_as_none(
    sessions: async_sessionmaker[AsyncSession], caller: str
) -> None:
    async with sessions() as session:
        store = IdempotencyStore(session)
        assert await store.claim(scope=caller, route=ROUTE, key="k-1", fingerprint="f") is None
        await store.remember(scope=caller, route=ROUTE, key="k-1", fingerprint="f", status_code=204, body=None)
        await session.commit()
    async with sessions() as session:
        replay = await IdempotencyStore(session).claim(scope=caller, route=ROUTE, key="k-1", fingerprint="f")

    assert replay == StoredResponse(status_code=204, body=None)


async def test_same_key_with_a_different_body_is_refused_as_reused(
    sessions: async_sessionmaker[AsyncSession], caller: str
) -> None:
    await _answer(sessions, scope=caller, key="k-1", body=BOOKING)

    with pytest.raises(IdempotencyKeyReused) as refused:
        await _answer(sessions, scope=caller, key="k-1", body=BOOKING | {"starts_at": "2030-01-01T10:00:00Z"})

    assert isinstance(refused.value, InvalidInput)
    assert (refused.value.code, refused.value.field) == ("idempotency_key_reused", "Idempotency-Key")


async def test_retry_while_the_first_request_is_in_flight_is_a_conflict_without_waiting(
    sessions: async_sessionmaker[AsyncSession], caller: str
) -> None:
    async with sessions() as first:
        assert await IdempotencyStore(first).claim(scope=caller, route=ROUTE, key="k-1", fingerprint="f") is None

        async with sessions() as retry:
            with pytest.raises(IdempotencyKeyInUse) as in_use:
                await asyncio.wait_for(
                    IdempotencyStore(retry).claim(scope=caller, route=ROUTE, key="k-1", fingerprint="f"), timeout=5
                )

        await IdempotencyStore(first).remember(
            scope=caller, route=ROUTE, key="k-1", fingerprint="f", status_code=201, body=ANSWER
        )
        await first.commit()

    assert isinstance(in_use.value, Conflict)
    assert (in_use.value.code, in_use.value.field) == ("idempotency_key_in_use", "Idempotency-Key")
    async with sessions() as later:
        replay = await IdempotencyStore(later).claim(scope=caller, route=ROUTE, key="k-1", fingerprint="f")
    assert replay == StoredResponse(status_code=201, body=ANSWER)


async def test_a_rolled_back_first_request_leaves_the_key_free_and_nothing_stored(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, caller: str
) -> None:
    async with sessions() as first:
        store = IdempotencyStore(first)
        assert await store.claim(scope=caller, route=ROUTE, key="k-1", fingerprint="f") is None
        await store.remember(scope=caller, route=ROUTE, key="k-1", fingerprint="f", status_code=201, body=ANSWER)
        await first.rollback()

    assert await _stored_rows(engine, scope=caller) == 0
    async with sessions() as retry:
        assert await IdempotencyStore(retry).claim(scope=caller, route=ROUTE, key="k-1", fingerprint="g") is None


async def test_the_same_key_from_another_caller_is_a_different_request(
    sessions: async_sessionmaker[AsyncSession], caller: str
) -> None:
    await _answer(sessions, scope=caller, key="k-1", body=BOOKING)
    someone_else = f"user:{uuid.uuid4()}"

    assert await _answer(sessions, scope=someone_else, key="k-1", body={"other": "booking"}) is None
    assert await _answer(sessions, scope=someone_else, key="k-1", body={"other": "booking"}) == StoredResponse(
        201, ANSWER
    )


async def test_the_same_key_on_another_route_is_a_different_request(
    sessions: async_sessionmaker[AsyncSession], caller: str
) -> None:
    await _answer(sessions, scope=caller, key="k-1", body=BOOKING)

    assert await _answer(sessions, scope=caller, route="POST /patients", key="k-1", body={"other": "body"}) is None
    assert await _answer(sessions, scope=caller, route="POST /patients", key="k-1", body={"other": "body"}) == (
        StoredResponse(201, ANSWER)
    )


async def test_an_expired_key_is_treated_as_never_used(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, caller: str
) -> None:
    await _answer(sessions, scope=caller, key="k-1", body=BOOKING)
    await _expire(engine, scope=caller)

    fresh = await _answer(sessions, scope=caller, key="k-1", body={"another": "booking"})
    replay = await _answer(sessions, scope=caller, key="k-1", body={"another": "booking"})

    assert fresh is None
    assert replay == StoredResponse(status_code=201, body=ANSWER)
    assert await _stored_rows(engine, scope=caller) == 1


async def test_answers_expire_after_the_ttl(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, caller: str
) -> None:
    await _answer(sessions, scope=caller, key="k-1", body=BOOKING)

    async with engine.connect() as connection:
        lifetime = await connection.scalar(
            select(idempotency_keys.c.expires_at - idempotency_keys.c.created_at).where(
                idempotency_keys.c.scope == caller
            )
        )

    assert lifetime == timedelta(hours=24)


async def test_prune_removes_expired_keys_only(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, caller: str
) -> None:
    async with engine.begin() as connection:  # expired keys other tests left are not ours to count
        await prune_idempotency_keys(connection)
    stale = f"{caller}:stale"
    await _answer(sessions, scope=stale, key="k-1", body=BOOKING)
    await _answer(sessions, scope=stale, key="k-2", body=BOOKING)
    await _answer(sessions, scope=caller, key="k-1", body=BOOKING)
    await _expire(engine, scope=stale)

    removed = await prune_idempotency_keys(engine)

    assert removed == 2
    assert await _stored_rows(engine, scope=stale) == 0
    assert await _stored_rows(engine, scope=caller) == 1


async def test_remembering_over_another_requests_answer_is_a_conflict(
    sessions: async_sessionmaker[AsyncSession], caller: str
) -> None:
    await _answer(sessions, scope=caller, key="k-1", body=BOOKING)

    async with sessions() as session:
        with pytest.raises(IdempotencyKeyInUse):
            await IdempotencyStore(session).remember(
                scope=caller, route=ROUTE, key="k-1", fingerprint="f", status_code=201, body=ANSWER
            )


@pytest.mark.parametrize("key", ["", "x" * 256, "schlüssel", "tab\tkey", "line\nbreak"])
async def test_keys_that_are_empty_too_long_or_not_printable_ascii_are_refused(
    sessions: async_sessionmaker[AsyncSession], caller: str, key: str
) -> None:
    async with sessions() as session:
        store = IdempotencyStore(session)
        with pytest.raises(InvalidIdempotencyKey) as refused:
            await store.claim(scope=caller, route=ROUTE, key=key, fingerprint="f")
        with pytest.raises(InvalidIdempotencyKey):
            await store.remember(scope=caller, route=ROUTE, key=key, fingerprint="f", status_code=201, body=ANSWER)

    assert isinstance(refused.value, InvalidInput)
    assert (refused.value.code, refused.value.field) == ("invalid_idempotency_key", "Idempotency-Key")


@pytest.mark.parametrize("key", ["x" * 255, "a", '"8e03978e-40d5-43e8-bc93-6894a57f9324"', "with space"])
async def test_keys_of_printable_ascii_up_to_255_characters_are_accepted(
    sessions: async_sessionmaker[AsyncSession], caller: str, key: str
) -> None:
    assert await _answer(sessions, scope=caller, key=key, body=BOOKING) is None
    assert await _answer(sessions, scope=caller, key=key, body=BOOKING) == StoredResponse(201, ANSWER)


async def test_the_database_refuses_a_key_longer_than_255_characters(engine: AsyncEngine, caller: str) -> None:
    async with engine.connect() as connection:
        with pytest.raises(IntegrityError) as refused:
            await connection.execute(
                insert(idempotency_keys).values(
                    scope=caller,
                    route=ROUTE,
                    key="x" * 256,
                    fingerprint="f",
                    status_code=201,
                    body=ANSWER,
                    expires_at=func.now(),
                )
            )

    assert violated_constraint(refused.value) == "ck_idempotency_keys_key_length"


async def test_the_migration_indexes_expiry_and_its_downgrade_drops_the_table(engine: AsyncEngine) -> None:
    def drop_and_recreate(sync: Connection) -> tuple[set[str | None], bool, bool]:
        indexes = {index["name"] for index in inspect(sync).get_indexes("idempotency_keys")}
        drop_idempotency_v1(_operations(sync))
        gone = not inspect(sync).has_table("idempotency_keys")
        create_idempotency_v1(_operations(sync))
        return indexes, gone, inspect(sync).has_table("idempotency_keys")

    async with engine.connect() as connection:  # DDL is transactional: the rollback restores the table
        indexes, gone, recreated = await connection.run_sync(drop_and_recreate)
        await connection.rollback()

    assert "ix_idempotency_keys_expires_at" in indexes
    assert gone
    assert recreated


def test_fingerprint_ignores_key_order_and_spacing() -> None:
    assert fingerprint({"a": 1, "b": {"c": 2, "d": [3, 4]}}) == fingerprint({"b": {"d": [3, 4], "c": 2}, "a": 1})
    assert fingerprint({"a": 1, "b": 2}) == fingerprint(b'{"a":1,"b":2}')


def test_fingerprint_changes_with_any_value() -> None:
    base = {"a": 1, "b": {"c": "x"}, "d": [1, 2]}
    variants: list[dict[str, Any]] = [
        {"a": 2, "b": {"c": "x"}, "d": [1, 2]},
        {"a": 1, "b": {"c": "y"}, "d": [1, 2]},
        {"a": 1, "b": {"c": "x"}, "d": [2, 1]},
        {"a": "1", "b": {"c": "x"}, "d": [1, 2]},
        {"a": 1, "b": {"c": "x"}, "d": [1, 2], "e": None},
    ]

    assert all(fingerprint(variant) != fingerprint(base) for variant in variants)
    assert fingerprint(b'{"a": 1}') != fingerprint(b'{"a":1}')
