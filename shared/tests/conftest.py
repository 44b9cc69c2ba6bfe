"""Fixtures for the plumbing tests: a database with the plumbing tables and a harness per test on a
topology (an exchange and queues) of its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from clinic_shared.db import create_session_factory
from clinic_shared.messaging import Broker, Topology
from clinic_shared.tables import outbox
from clinic_shared.testing.messaging import Harness, create_probe_schema
from clinic_shared.testing.plugin import TestEnvironment


@pytest.fixture(scope="session")
async def plumbing_database(test_env: TestEnvironment) -> AsyncIterator[str]:
    name = f"t_{test_env.run_id}_plumbing"
    await test_env.create_database(name)
    url = test_env.database_url("plumbing")
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(create_probe_schema)
    await engine.dispose()
    yield url
    await test_env.drop_database(name)


@pytest.fixture
async def harness(test_env: TestEnvironment, plumbing_database: str) -> AsyncIterator[Harness]:
    topology = Topology(
        prefix=f"{test_env.topology_prefix}{uuid.uuid4().hex[:6]}.",
        exchange="clinic.events",
        retry_delays_ms=(200, 400, 800),
        delivery_limit=5,
    )
    broker = Broker(test_env.amqp_url, service="probe", topology=topology, publish_timeout_s=5.0)
    await broker.connect()
    engine = create_async_engine(plumbing_database, pool_size=10)
    async with engine.begin() as connection:  # rows another test left unpublished are not ours
        await connection.execute(outbox.delete())
    h = Harness(
        env=test_env,
        engine=engine,
        session_factory=create_session_factory(engine),
        broker=broker,
        database_url=plumbing_database,
    )
    yield h
    for task in h.tasks:
        task.cancel()
    await asyncio.gather(*h.tasks, return_exceptions=True)
    for runner in h.runners:
        await runner.stop()
    channel = await broker.connection.channel()
    for queue in sorted(test_env.extra_queues):
        if queue.startswith(topology.prefix):
            await channel.queue_delete(queue)
    await channel.exchange_delete(topology.events_exchange)
    await channel.exchange_delete(topology.dead_letter_exchange)
    await broker.close()
    await engine.dispose()
