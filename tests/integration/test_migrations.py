"""Every service's migrations go up, all the way down, and up again on a fresh database."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from clinic_shared.migrations import alembic_config, upgrade
from clinic_shared.runtime import ServiceDefinition, discover_services
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("definition", discover_services().values(), ids=lambda d: d.name)
async def test_migrations_upgrade_downgrade_and_upgrade_again(
    definition: ServiceDefinition, test_env: TestEnvironment
) -> None:
    name = f"t_{test_env.run_id}_{definition.name}_roundtrip"
    await test_env.create_database(name)
    url = test_env.database_url(definition.name).rsplit("/", 1)[0] + f"/{name}"
    try:
        await asyncio.to_thread(upgrade, definition.root, url)
        await asyncio.to_thread(command.downgrade, alembic_config(definition.root, url), "base")
        assert await _tables(url) == {"alembic_version"}, "downgrade to base left tables behind"
        await asyncio.to_thread(upgrade, definition.root, url)
        if definition.outbox:
            assert {"outbox", "processed_messages"} <= await _tables(url)
    finally:
        await test_env.drop_database(name)


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            return {row.tablename for row in rows}
    finally:
        await engine.dispose()
