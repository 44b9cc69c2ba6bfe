"""Pooled connections: checked before use only after sitting idle, replaced when found closed, and
back in transactions after a unit of work that read without one."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from clinic_shared.db import asyncpg_dsn, create_engine, create_session_factory
from clinic_shared.uow import SqlUnitOfWork

pytestmark = pytest.mark.integration


async def _backend(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(text("SELECT pg_backend_pid()")) or 0)


async def _terminate(database_url: str, pid: int) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        assert await connection.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await connection.close()


async def test_a_connection_closed_while_idle_is_replaced_before_use(plumbing_database: str) -> None:
    engine = create_engine(plumbing_database, pool_size=1, ping_after_idle_s=0.2)
    try:
        closed = await _backend(engine)
        await _terminate(plumbing_database, closed)
        await asyncio.sleep(0.3)

        assert await _backend(engine) != closed
    finally:
        await engine.dispose()


async def test_a_connection_lost_in_steady_use_fails_one_statement_and_the_pool_recovers(
    plumbing_database: str,
) -> None:
    # The price of not pinging every checkout (three round trips with asyncpg): no check in steady use.
    engine = create_engine(plumbing_database, pool_size=1, ping_after_idle_s=60)
    try:
        lost = await _backend(engine)
        await _terminate(plumbing_database, lost)

        with pytest.raises(DBAPIError) as failed:
            await _backend(engine)
        assert failed.value.connection_invalidated
        assert await _backend(engine) not in (lost, 0)
    finally:
        await engine.dispose()


async def test_a_read_without_transaction_leaves_the_next_unit_of_work_on_that_connection_transactional(
    plumbing_database: str,
) -> None:
    engine = create_engine(plumbing_database, pool_size=1)  # both units of work get the same connection
    table = f"uow_probe_{uuid.uuid4().hex[:8]}"
    async with engine.begin() as connection:
        await connection.execute(text(f"CREATE TABLE {table} (step text)"))
    try:
        async with SqlUnitOfWork(create_session_factory(engine), producer="probe") as reading:
            await reading.read_without_transaction()
            await reading.session.execute(text(f"INSERT INTO {table} VALUES ('autocommitted')"))
        async with SqlUnitOfWork(create_session_factory(engine), producer="probe") as writing:
            await writing.session.execute(text(f"INSERT INTO {table} VALUES ('rolled back')"))

        async with engine.connect() as connection:
            assert list(await connection.scalars(text(f"SELECT step FROM {table}"))) == ["autocommitted"]
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f"DROP TABLE {table}"))
        await engine.dispose()
