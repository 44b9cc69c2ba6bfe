"""The outbox relay against the real database and broker."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from clinic_shared.outbox import OutboxRelay, prune_plumbing
from clinic_shared.tables import outbox
from clinic_shared.testing.messaging import Harness, clinic_event, drain, eventually

pytestmark = pytest.mark.integration


async def test_relay_publishes_every_committed_event_and_never_a_rolled_back_one(harness: Harness) -> None:
    observer = await harness.observer()
    committed = await harness.emit(clinic_event(), clinic_event())
    rolled_back = await harness.emit(clinic_event(), commit=False)

    claimed = await harness.relay().publish_pending()

    assert claimed == 2
    seen = {json.loads(m.body)["message_id"] for m in await drain(observer)}
    assert seen == {str(e.message_id) for e in committed}
    assert str(rolled_back[0].message_id) not in seen
    assert await _unpublished(harness) == 0


async def test_relay_wakes_on_notify_without_waiting_for_the_poll(harness: Harness) -> None:
    observer = await harness.observer()
    harness.run_in_background(harness.relay(poll_interval_s=30).run())
    await asyncio.sleep(0.5)  # the relay is idle and listening

    started = time.monotonic()
    [envelope] = await harness.emit(clinic_event())
    message = await _next(observer, timeout_s=5)

    assert json.loads(message.body)["message_id"] == str(envelope.message_id)
    assert time.monotonic() - started < 2, "published by the 30 s poll, not by NOTIFY"


async def test_a_notify_arriving_while_the_relay_publishes_is_not_lost(harness: Harness) -> None:
    """An event committed while the relay is busy publishing the previous batch must wake it again
    at once, not wait for the poll: under steady load that is every event."""

    class SlowRelay(OutboxRelay):
        async def publish_pending(self) -> int:
            claimed = await super().publish_pending()
            if claimed:
                await asyncio.sleep(0.3)  # still busy when the next event's NOTIFY arrives
            return claimed

    observer = await harness.observer()
    harness.run_in_background(harness.relay(SlowRelay, poll_interval_s=30).run())
    await asyncio.sleep(0.5)
    await harness.emit(clinic_event())
    await _next(observer, timeout_s=5)  # the relay is now in its 0.3 s of "publishing"

    started = time.monotonic()
    [second] = await harness.emit(clinic_event())
    message = await _next(observer, timeout_s=10)

    assert json.loads(message.body)["message_id"] == str(second.message_id)
    assert time.monotonic() - started < 2, "the NOTIFY that came during publishing was dropped"


async def test_a_relay_cancelled_as_it_is_woken_stops(harness: Harness) -> None:
    """A worker's shutdown cancels the relay; a NOTIFY landing in the same moment must not swallow the
    cancellation (it did with asyncio.wait_for on Python 3.11, and the test run hung at teardown)."""
    relay = harness.relay(poll_interval_s=30)
    task = asyncio.create_task(relay.run())
    await asyncio.sleep(0.5)  # idle, waiting to be woken

    relay._wake.set()
    task.cancel()

    done, _ = await asyncio.wait([task], timeout=5)
    assert done, "the relay went on running after it was cancelled"
    assert task.cancelled()


async def test_relay_polls_when_no_notification_arrives(harness: Harness) -> None:
    observer = await harness.observer()
    async with harness.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE outbox DISABLE TRIGGER outbox_notify"))
    try:
        harness.run_in_background(harness.relay(poll_interval_s=0.3).run())
        await asyncio.sleep(0.5)
        [envelope] = await harness.emit(clinic_event())
        message = await _next(observer, timeout_s=5)
        assert json.loads(message.body)["message_id"] == str(envelope.message_id)
    finally:
        async with harness.engine.begin() as connection:
            await connection.execute(text("ALTER TABLE outbox ENABLE TRIGGER outbox_notify"))


class SimulatedCrash(Exception):
    pass


class RelayThatDiesBeforeMarking(OutboxRelay):
    """Dies after the broker confirmed the batch and before the rows are marked, as a killed process
    would: its transaction never commits."""

    async def _mark_published(self, connection: AsyncConnection, ids: list[int]) -> None:
        raise SimulatedCrash


async def test_relay_killed_between_publish_and_mark_publishes_again_and_the_consumer_dedupes(
    harness: Harness,
) -> None:
    await harness.start_consumer()
    observer = await harness.observer()
    [envelope] = await harness.emit(clinic_event())

    with pytest.raises(SimulatedCrash):
        await harness.relay(RelayThatDiesBeforeMarking).publish_pending()
    assert await _unpublished(harness) == 1, "a row whose mark never committed must stay pending"

    assert await harness.relay().publish_pending() == 1
    deliveries = [json.loads(m.body)["message_id"] for m in await drain(observer)]
    assert deliveries == [str(envelope.message_id)] * 2, "the event is on the bus twice"

    async def applied() -> bool:
        return (await harness.applied([envelope.message_id])).get(envelope.message_id) == 1

    await eventually(applied, what="the effect")
    await asyncio.sleep(0.5)  # let the second delivery arrive and be deduped
    assert await harness.applied([envelope.message_id]) == {envelope.message_id: 1}
    assert await _unpublished(harness) == 0


async def test_several_relays_share_the_outbox_without_publishing_a_row_twice(harness: Harness) -> None:
    observer = await harness.observer()
    envelopes = []
    for _ in range(10):
        envelopes += await harness.emit(*(clinic_event() for _ in range(50)))

    relays = [harness.relay(batch_size=20) for _ in range(3)]
    for relay in relays:
        harness.run_in_background(relay.run())

    async def drained() -> bool:
        return await _unpublished(harness) == 0

    await eventually(drained, timeout_s=30, what="the outbox to drain")
    seen = [json.loads(m.body)["message_id"] for m in await drain(observer)]
    assert len(seen) == len(envelopes) == len(set(seen))
    assert set(seen) == {str(e.message_id) for e in envelopes}


async def test_an_unroutable_event_stays_in_the_outbox_with_the_reason_and_a_later_retry(harness: Harness) -> None:
    # No queue is bound on this test's exchange, so `mandatory` makes the broker return the message.
    [envelope] = await harness.emit(clinic_event())

    await harness.relay().publish_pending()

    async with harness.engine.connect() as connection:
        row = (await connection.execute(select(outbox).where(outbox.c.message_id == envelope.message_id))).one()
        now = await connection.scalar(select(func.now()))
    assert row.published_at is None
    assert row.attempts == 1
    assert row.last_error is not None
    assert row.last_error.startswith("unroutable")
    assert row.next_attempt_at > now


async def _unpublished(harness: Harness) -> int:
    async with harness.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).where(outbox.c.published_at.is_(None))) or 0)


async def _next(queue, *, timeout_s: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        message = await queue.get(no_ack=True, fail=False)
        if message is not None:
            return message
        await asyncio.sleep(0.02)
    raise AssertionError(f"nothing arrived within {timeout_s}s")


async def test_a_malformed_row_is_deferred_with_its_reason_and_does_not_stall_the_others(harness: Harness) -> None:
    observer = await harness.observer()
    [broken, healthy] = await harness.emit(clinic_event(), clinic_event())
    async with harness.engine.begin() as connection:
        await connection.execute(
            outbox.update().where(outbox.c.message_id == broken.message_id).values(body={"not": "an envelope"})
        )

    assert await harness.relay().publish_pending() == 2

    seen = [json.loads(m.body)["message_id"] for m in await drain(observer)]
    assert seen == [str(healthy.message_id)]
    async with harness.engine.connect() as connection:
        row = (await connection.execute(select(outbox).where(outbox.c.message_id == broken.message_id))).one()
    assert row.published_at is None
    assert row.last_error == "unpublishable row: KeyError"


async def test_published_rows_and_old_dedupe_records_are_pruned_after_the_retention(harness: Harness) -> None:
    await harness.observer()
    await harness.emit(clinic_event(), clinic_event())
    assert await harness.relay().publish_pending() == 2
    [pending] = await harness.emit(clinic_event())
    async with harness.engine.begin() as connection:
        await connection.execute(
            outbox.update()
            .where(outbox.c.published_at.is_not(None))
            .values(published_at=func.now() - text("interval '2 hours'"))
        )

    removed = await prune_plumbing(harness.engine, retention_hours=1)

    assert removed >= 2
    async with harness.engine.connect() as connection:
        left = [row.message_id for row in await connection.execute(select(outbox.c.message_id))]
    assert left == [pending.message_id], "an unpublished row must never be pruned"
