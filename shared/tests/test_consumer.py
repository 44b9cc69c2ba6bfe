"""Consuming against the real broker and database: dedupe, retry tiers, error queue."""

from __future__ import annotations

import json
from typing import Any

import aio_pika
import pytest
from sqlalchemy import select

from clinic_shared.events.catalogue import ClinicChanged
from clinic_shared.messaging import Consumer, HandlerContext
from clinic_shared.tables import outbox
from clinic_shared.testing.messaging import Harness, clinic_event, drain, eventually

pytestmark = pytest.mark.integration


async def test_a_duplicate_delivery_is_applied_once(harness: Harness) -> None:
    await harness.start_consumer()
    [envelope] = await harness.emit(clinic_event())
    await harness.publish_directly(envelope)
    await harness.publish_directly(envelope)  # the broker delivers it twice, same message id

    async def applied() -> bool:
        return (await harness.applied([envelope.message_id])).get(envelope.message_id) == 1

    await eventually(applied, what="the first delivery to apply")
    runner = harness.runners[0]
    await eventually(lambda: _queue_empty(harness, runner.names.main), what="the duplicate to be acked")
    assert (await harness.applied([envelope.message_id])) == {envelope.message_id: 1}


async def test_a_transient_failure_is_retried_and_then_succeeds(harness: Harness) -> None:
    runner = await harness.start_consumer()
    [envelope] = await harness.emit(clinic_event("flaky:2"))
    await harness.publish_directly(envelope)

    async def applied() -> bool:
        return (await harness.applied([envelope.message_id])).get(envelope.message_id) == 1

    await eventually(applied, what="the third attempt to succeed")
    assert harness.failures[envelope.message_id] == 3  # two failures, then the success
    assert await _depth(harness, runner.names.error) == 0


async def test_a_poison_message_lands_in_the_error_queue_while_the_messages_behind_it_are_processed(
    harness: Harness,
) -> None:
    runner = await harness.start_consumer()
    poison, *healthy = await harness.emit(clinic_event("poison"), *(clinic_event() for _ in range(5)))
    for envelope in (poison, *healthy):
        await harness.publish_directly(envelope)

    healthy_ids = [e.message_id for e in healthy]

    async def healthy_applied() -> bool:
        return len(await harness.applied(healthy_ids)) == len(healthy_ids)

    await eventually(healthy_applied, timeout_s=5, what="the healthy messages")
    await eventually(lambda: _has_messages(harness, runner.names.error), what="the poison message in the error queue")

    [dead] = await _take_all(harness, runner.names.error)
    assert dead.message_id == str(poison.message_id)
    assert dead.headers["x-attempts"] == len(runner.names.retries) + 1
    assert dead.headers["x-error-reason"] == "exhausted"
    assert dead.headers["x-exception"] == "RuntimeError"
    assert "can never be handled" in str(dead.headers["x-exception-message"])
    assert json.loads(dead.body)["message_id"] == str(poison.message_id)  # the original envelope, intact
    assert await harness.applied([poison.message_id]) == {}


async def test_an_invalid_message_goes_straight_to_the_error_queue(harness: Harness) -> None:
    runner = await harness.start_consumer()
    [envelope] = await harness.emit(clinic_event())
    body = envelope.to_json_dict()
    body["payload"]["timezone"] = None  # a required field gone bad
    channel = await harness.broker.connection.channel()
    exchange = await channel.get_exchange(harness.topology.events_exchange)
    await exchange.publish(
        aio_pika.Message(json.dumps(body).encode(), message_id="bad-1"), routing_key=envelope.routing_key
    )
    await exchange.publish(aio_pika.Message(b"not json", message_id="bad-2"), routing_key=envelope.routing_key)

    await eventually(lambda: _depth_is(harness, runner.names.error, 2), what="both invalid messages dead-lettered")
    dead = {m.message_id: m for m in await _take_all(harness, runner.names.error)}
    assert dead["bad-1"].headers["x-error-reason"] == "invalid"
    assert dead["bad-1"].headers["x-attempts"] == 1  # no retry tier for a message that cannot improve
    assert "payload.timezone" in str(dead["bad-1"].headers["x-exception-message"])
    assert dead["bad-2"].headers["x-error-reason"] == "invalid"
    assert harness.failures == {}


async def test_unknown_fields_from_a_newer_producer_are_ignored(harness: Harness) -> None:
    await harness.start_consumer()
    [envelope] = await harness.emit(clinic_event())
    body = envelope.to_json_dict()
    body["payload"]["loyalty_tier"] = "gold"
    body["baggage"] = {"added": "later"}
    await harness.broker.publish_event(body, routing_key=envelope.routing_key)

    async def applied() -> bool:
        return (await harness.applied([envelope.message_id])).get(envelope.message_id) == 1

    await eventually(applied, what="the message with unknown fields to apply")


async def _depth(harness: Harness, queue: str) -> int:
    channel = await harness.broker.connection.channel()
    declared = await channel.declare_queue(queue, passive=True)
    await channel.close()
    return declared.declaration_result.message_count or 0


async def _depth_is(harness: Harness, queue: str, expected: int) -> bool:
    return await _depth(harness, queue) == expected


async def _has_messages(harness: Harness, queue: str) -> bool:
    return await _depth(harness, queue) > 0


async def _queue_empty(harness: Harness, queue: str) -> bool:
    channel = await harness.broker.connection.channel()
    declared = await channel.declare_queue(queue, passive=True)
    await channel.close()
    return declared.declaration_result.message_count == 0


async def _take_all(harness: Harness, queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    channel = await harness.broker.connection.channel()
    return await drain(await channel.declare_queue(queue, passive=True), quiet_s=0.3)


async def test_declaring_the_topology_again_is_harmless_and_keeps_waiting_messages(harness: Harness) -> None:
    runner = await harness.start_consumer()
    await runner.stop()  # nobody consumes while the message waits
    [envelope] = await harness.emit(clinic_event())
    await harness.publish_directly(envelope)
    channel = await harness.broker.connection.channel()

    for _ in range(2):
        await harness.topology.declare_consumer(
            channel, service="probe", consumer="probe", routing_keys=harness.consumer().routing_keys
        )

    assert await _depth(harness, runner.names.main) == 1
    await harness.start_consumer()

    async def applied() -> bool:
        return (await harness.applied([envelope.message_id])).get(envelope.message_id) == 1

    await eventually(applied, what="the waiting message to be applied after re-declaring")


async def test_events_published_while_handling_carry_the_correlation_and_cause_on(harness: Harness) -> None:
    async def announce(event: ClinicChanged, ctx: HandlerContext) -> None:
        ctx.outbox.add(event.model_copy(update={"revision": event.revision + 1}))

    await harness.start_consumer(Consumer(name="announcer", handlers={ClinicChanged: announce}))
    [incoming] = await harness.emit(clinic_event())
    async with harness.engine.begin() as connection:  # only the follow-up should remain to look at
        await connection.execute(outbox.delete())
    await harness.publish_directly(incoming)

    async def follow_up() -> dict[str, Any] | None:
        async with harness.engine.connect() as connection:
            return (await connection.execute(select(outbox.c.body))).scalar()

    async def has_follow_up() -> bool:
        return await follow_up() is not None

    await eventually(has_follow_up, what="the handler's event in the outbox")
    body = await follow_up()
    assert body is not None
    assert body["correlation_id"] == incoming.correlation_id
    assert body["causation_id"] == str(incoming.message_id)
    assert body["trace_context"]["traceparent"].split("-")[1] == incoming.trace_context.traceparent.split("-")[1]
    assert body["payload"]["revision"] == 2
