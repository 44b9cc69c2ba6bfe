"""What `clinic-ops errors ...` does, against the real broker: look without consuming, replay, purge."""

from __future__ import annotations

from uuid import UUID

import pytest

from clinic_shared.messaging import operations
from clinic_shared.testing.messaging import Harness, clinic_event, eventually

pytestmark = pytest.mark.integration


async def _dead_letter_two(harness: Harness) -> tuple[str, list[str]]:
    runner = await harness.start_consumer()
    envelopes = await harness.emit(clinic_event("flaky:99"), clinic_event("flaky:99"))
    for envelope in envelopes:
        await harness.publish_directly(envelope)
    queue = runner.names.error

    async def both_dead() -> bool:
        return await operations.count(harness.broker.connection, queue) == 2

    await eventually(both_dead, what="both messages to exhaust their retries")
    return queue, [str(e.message_id) for e in envelopes]


async def test_show_lists_failures_without_consuming_them(harness: Harness) -> None:
    queue, ids = await _dead_letter_two(harness)

    letters = await operations.peek(harness.broker.connection, queue, limit=10)

    assert sorted(letter.message_id or "" for letter in letters) == sorted(ids)
    assert {letter.exception for letter in letters} == {"ConnectionError"}
    assert {letter.reason for letter in letters} == {"exhausted"}
    assert await operations.count(harness.broker.connection, queue) == 2


async def test_replay_sends_one_message_back_to_its_consumer_which_then_applies_it(harness: Harness) -> None:
    queue, (first, second) = await _dead_letter_two(harness)
    harness.failures[UUID(first)] = 10_000  # the outage it kept hitting is over: the next try succeeds

    replayed = await operations.replay(harness.broker.connection, queue, message_ids={first})

    assert replayed == 1

    async def applied() -> bool:
        return await harness.applied([UUID(first)]) == {UUID(first): 1}

    await eventually(applied, what="the replayed message to be applied")
    remaining = await operations.peek(harness.broker.connection, queue, limit=10)
    assert [letter.message_id for letter in remaining] == [second]


async def test_purge_by_id_removes_only_that_message(harness: Harness) -> None:
    queue, (first, second) = await _dead_letter_two(harness)

    assert await operations.purge(harness.broker.connection, queue, message_ids={first}) == 1

    remaining = await operations.peek(harness.broker.connection, queue, limit=10)
    assert [letter.message_id for letter in remaining] == [second]
    assert await operations.purge(harness.broker.connection, queue) == 1
    assert await operations.count(harness.broker.connection, queue) == 0


async def test_count_of_a_queue_nobody_declared_is_none(harness: Harness) -> None:
    assert await operations.count(harness.broker.connection, f"{harness.topology.prefix}nobody.error") is None
