"""RabbitMQ restarted in the middle of a stream: nothing lost, nothing applied twice, and the
consumer and relay carry on by themselves.

Restarts use `rabbitmqctl close_all_connections` and `stop_app`/`start_app` on the local broker
(ENVIRONMENT.md: a `kill -9` soon after first declaring a quorum queue can leave it leaderless).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess

import pytest
from sqlalchemy import func, select

from clinic_shared.tables import outbox
from clinic_shared.testing.messaging import Harness, clinic_event, eventually

pytestmark = [
    pytest.mark.integration,
    pytest.mark.fault,
    pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl for the local broker"),
    pytest.mark.skipif("TEST_AMQP_URL" in os.environ, reason="restarts the local broker, not a remote one"),
]

EVENTS = 240


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)


async def broker_answers() -> bool:
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", "-q", "await_startup", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await process.wait() == 0


async def test_consumption_resumes_after_broker_restarts_with_no_event_lost_or_applied_twice(harness: Harness) -> None:
    runner = await harness.start_consumer()
    relay = harness.relay(poll_interval_s=0.2)
    harness.run_in_background(relay.run())
    await asyncio.sleep(2)  # let the new quorum queues elect leaders before any fault
    reconnects: list[object] = []
    harness.broker.connection.reconnect_callbacks.add(lambda *_: reconnects.append(1))

    message_ids = []

    async def produce() -> None:
        for _ in range(EVENTS // 4):
            envelopes = await harness.emit(*(clinic_event() for _ in range(4)))
            message_ids.extend(e.message_id for e in envelopes)
            await asyncio.sleep(0.04)

    producing = asyncio.create_task(produce())
    await asyncio.sleep(1.5)
    await asyncio.to_thread(rabbitmqctl, "close_all_connections", "fault test: connections dropped")
    await asyncio.sleep(1.5)
    await asyncio.to_thread(rabbitmqctl, "stop_app")
    await asyncio.sleep(2)
    await asyncio.to_thread(rabbitmqctl, "start_app")
    await eventually(broker_answers, timeout_s=60, what="the broker to start")
    await producing

    async def all_applied() -> bool:
        return len(await harness.applied(message_ids)) == EVENTS

    await eventually(all_applied, timeout_s=90, what=f"all {EVENTS} events applied")
    counts = await harness.applied(message_ids)
    assert set(counts.values()) == {1}, "some event was applied more than once"
    async with harness.engine.connect() as connection:
        pending = await connection.scalar(select(func.count()).where(outbox.c.published_at.is_(None)))
    assert pending == 0
    await eventually(lambda: _ready(runner), timeout_s=10, what="the consumer to report ready again")
    assert relay.running
    assert len(reconnects) >= 2, "the faults never reached the connection; the test proved nothing"


async def _ready(runner) -> bool:  # type: ignore[no-untyped-def]
    return bool(runner.is_ready)
