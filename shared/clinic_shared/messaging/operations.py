"""What an operator does with error queues: count, look, replay, purge.

Looking never consumes: messages are taken unacknowledged and handed back when the channel closes.
Message bodies are not shown, since a patient-contact event carries personal data; the headers say
what failed and why.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

from clinic_shared.messaging.broker import copy_of
from clinic_shared.messaging.consumer import ATTEMPTS_HEADER

PUBLISH_TIMEOUT_S = 10.0
RETURN_WAIT_S = 5.0  # how long `peek` waits for the broker to put back what it looked at

_FAILURE_HEADERS = (
    ATTEMPTS_HEADER,
    "x-error-reason",
    "x-exception",
    "x-exception-message",
    "x-failed-consumer",
    "x-failed-at",
)


@dataclass(frozen=True)
class DeadLetter:
    message_id: str | None
    type: str | None
    correlation_id: str | None
    attempts: int | None
    reason: str | None
    exception: str | None
    exception_message: str | None
    failed_at: str | None

    @classmethod
    def of(cls, message: AbstractIncomingMessage) -> DeadLetter:
        headers: dict[str, Any] = dict(message.headers or {})
        # A message the broker dead-lettered itself (delivery limit: the worker kept dying on it)
        # carries only RabbitMQ's x-death record, not our headers.
        deaths = headers.get("x-death") or [{}]
        broker_reason = _text(deaths[0].get("reason")) if isinstance(deaths, list) and deaths else None
        return cls(
            message_id=message.message_id,
            type=message.type,
            correlation_id=message.correlation_id,
            attempts=headers.get(ATTEMPTS_HEADER),
            reason=_text(headers.get("x-error-reason")) or (f"broker:{broker_reason}" if broker_reason else None),
            exception=_text(headers.get("x-exception")),
            exception_message=_text(headers.get("x-exception-message")),
            failed_at=_text(headers.get("x-failed-at")),
        )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def main_queue_of(error_queue: str) -> str:
    if not error_queue.endswith(".error"):
        raise ValueError(f"{error_queue} is not an error queue")
    return error_queue.removesuffix(".error")


async def count(connection: AbstractRobustConnection, queue: str) -> int | None:
    """Messages waiting in `queue`; None when no worker has declared it yet."""
    channel = await connection.channel()
    try:
        declared = await channel.declare_queue(queue, passive=True)
    except aio_pika.exceptions.ChannelNotFoundEntity:
        return None  # the broker closed the channel along with the failed passive declare
    await channel.close()
    return declared.declaration_result.message_count or 0


async def peek(connection: AbstractRobustConnection, queue: str, *, limit: int) -> list[DeadLetter]:
    """Up to `limit` messages, left in the queue. The broker puts them back after the channel closes, a
    moment later under load: `peek` returns once they are ready again, so that a count or a replay
    right after it sees them (a replay takes only what the queue holds when it starts)."""
    async with _channel(connection) as channel:
        letters = [DeadLetter.of(message) async for message in _take(channel, queue, limit=limit)]
    deadline = asyncio.get_running_loop().time() + RETURN_WAIT_S
    while letters and (await count(connection, queue) or 0) < len(letters):
        if asyncio.get_running_loop().time() > deadline:
            break  # someone else took them meanwhile; what we read is still what was there
        await asyncio.sleep(0.05)
    return letters


async def replay(
    connection: AbstractRobustConnection, queue: str, *, message_ids: Collection[str] | None = None
) -> int:
    """Send error-queue messages back to their consumer's main queue with a fresh retry budget."""
    target = main_queue_of(queue)
    replayed = 0
    async with _channel(connection) as channel:
        # Only what is there now: a replayed message that fails again and comes back is not taken twice.
        depth = await _depth(channel, queue)
        async for message in _take(channel, queue, limit=depth):
            if message_ids is not None and message.message_id not in message_ids:
                continue
            headers = {k: v for k, v in (message.headers or {}).items() if k not in _FAILURE_HEADERS}
            headers["x-replayed-from"] = queue
            await channel.default_exchange.publish(
                copy_of(message, headers=headers),
                routing_key=target,
                mandatory=True,
                timeout=PUBLISH_TIMEOUT_S,
            )
            await message.ack()
            replayed += 1
    return replayed


async def purge(connection: AbstractRobustConnection, queue: str, *, message_ids: Collection[str] | None = None) -> int:
    async with _channel(connection) as channel:
        if message_ids is None:
            declared = await channel.declare_queue(queue, passive=True)
            return (await declared.purge()).message_count or 0
        purged = 0
        async for message in _take(channel, queue, limit=await _depth(channel, queue)):
            if message.message_id in message_ids:
                await message.ack()
                purged += 1
        return purged


@contextlib.asynccontextmanager
async def _channel(connection: AbstractRobustConnection) -> AsyncIterator[AbstractChannel]:
    # Closing the channel hands every message we took but did not ack back to the queue.
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    try:
        yield channel
    finally:
        await channel.close()


async def _depth(channel: AbstractChannel, queue: str) -> int:
    declared = await channel.declare_queue(queue, passive=True)
    return declared.declaration_result.message_count or 0


async def _take(
    channel: AbstractChannel, queue: str, *, limit: int | None = None
) -> AsyncIterator[AbstractIncomingMessage]:
    declared = await channel.declare_queue(queue, passive=True)
    taken = 0
    while limit is None or taken < limit:
        message = await declared.get(no_ack=False, fail=False)
        if message is None:
            return
        taken += 1
        yield message
