"""Consuming events: one handler transaction per message, the message id recorded in it, ack after commit.

Outcomes of a delivery:
- already processed (same message id in `processed_messages`) -> ack, nothing applied twice;
- handled -> effects + processed id + outbox rows commit together, then ack;
- malformed, unknown type, invalid payload, or `PermanentFailure` -> straight to the error queue;
- any other exception -> the next retry tier (growing TTL delays), after the last tier the error queue,
  with the exception and attempt count in headers.
Moving a message to a retry or error queue is a confirmed publish followed by the ack of the
original, so a crash in between leaves a duplicate, never a loss; the dedupe above absorbs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, ConsumerTag
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clinic_shared import context
from clinic_shared.events.envelope import Envelope, Event, envelope_class
from clinic_shared.logging import get_logger
from clinic_shared.messaging.broker import Broker, copy_of
from clinic_shared.messaging.topology import QueueNames
from clinic_shared.metrics import EVENTS_CONSUMED, EVENTS_DEAD_LETTERED, EVENTS_RETRIED
from clinic_shared.outbox import Outbox
from clinic_shared.tables import processed_messages

log = get_logger(__name__)

ATTEMPTS_HEADER = "x-attempts"


class PermanentFailure(Exception):
    """Raised by a handler for a message that can never succeed; it skips the retry tiers."""


@dataclass
class HandlerContext:
    """What a handler gets besides the event: the open transaction and an outbox riding in it."""

    session: AsyncSession
    outbox: Outbox
    envelope: Envelope[Any]


Handler = Callable[[Any, HandlerContext], Awaitable[None]]


@dataclass(frozen=True)
class Consumer:
    """A named consumer: reads as a table of event type -> handler."""

    name: str
    handlers: Mapping[type[Event], Handler]

    @property
    def routing_keys(self) -> tuple[str, ...]:
        return tuple(sorted(event.routing_key() for event in self.handlers))

    def handler_for(self, routing_key: str) -> tuple[type[Event], Handler] | None:
        for event, handler in self.handlers.items():
            if event.routing_key() == routing_key:
                return event, handler
        return None


class InvalidMessage(Exception):
    pass


@dataclass
class ConsumerRunner:
    consumer: Consumer
    broker: Broker
    session_factory: async_sessionmaker[AsyncSession]
    service: str
    prefetch: int
    names: QueueNames = field(init=False)
    _channel: AbstractChannel | None = field(default=None, init=False)
    _queue: AbstractQueue | None = field(default=None, init=False)
    _tag: ConsumerTag | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.names = self.broker.topology.queue_names(service=self.service, consumer=self.consumer.name)

    async def start(self) -> None:
        self._channel = await self.broker.channel(prefetch=self.prefetch)
        self._queue = await self.broker.topology.declare_consumer(
            self._channel, service=self.service, consumer=self.consumer.name, routing_keys=self.consumer.routing_keys
        )
        # A robust queue re-registers this consumer by itself after the connection comes back.
        self._tag = await self._queue.consume(self.on_message, no_ack=False)

    async def stop(self) -> None:
        if self._queue is not None and self._tag is not None:
            with contextlib.suppress(Exception):
                await self._queue.cancel(self._tag)
        if self._channel is not None:
            with contextlib.suppress(Exception):
                await self._channel.close()

    @property
    def is_ready(self) -> bool:
        return (
            self._tag is not None
            and self._channel is not None
            and not self._channel.is_closed
            and self.broker.is_connected
        )

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            await self._deliver(message)
        except Exception:
            # Could not even route the message (the broker went away mid-way). Leave it unacked: the
            # broker redelivers it, and its delivery limit stops a message that keeps failing here.
            log.exception("delivery_unrouted", consumer=self.consumer.name, message_id=message.message_id)
            await asyncio.sleep(1.0)
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)

    async def _deliver(self, message: AbstractIncomingMessage) -> None:
        try:
            event_type, envelope = self._parse(message)
        except InvalidMessage as error:
            await self._to_error_queue(message, reason="invalid", error=error)
            return
        handler = self.consumer.handlers[event_type]
        with context.bound(
            correlation_id=envelope.correlation_id,
            causation_id=envelope.message_id,
            traceparent=envelope.trace_context.traceparent,
        ):
            try:
                applied = await self._apply(handler, envelope)
            except PermanentFailure as error:
                await self._to_error_queue(message, reason="permanent", error=error)
                return
            except Exception as error:
                await self._retry_or_give_up(message, error)
                return
            await message.ack()
            EVENTS_CONSUMED.labels(self.service, self.consumer.name, "applied" if applied else "duplicate").inc()

    def _parse(self, message: AbstractIncomingMessage) -> tuple[type[Event], Envelope[Any]]:
        # Dispatch on the envelope, not the routing key: dead-lettering from a retry queue rewrites it.
        try:
            raw = json.loads(message.body)
            routing_key = f"{raw['type']}.v{raw['version']}"
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidMessage(f"not an event envelope: {type(error).__name__}") from error
        found = self.consumer.handler_for(routing_key)
        if found is None:
            raise InvalidMessage(f"no handler for {routing_key}")
        event_type, _ = found
        try:
            envelope = envelope_class(event_type).model_validate(raw)
        except ValidationError as error:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in error.errors())
            raise InvalidMessage(f"invalid {routing_key}: {fields}") from error
        return event_type, envelope

    async def _apply(self, handler: Handler, envelope: Envelope[Any]) -> bool:
        async with self.session_factory() as session, session.begin():
            first_time = (
                await session.execute(
                    insert(processed_messages)
                    .values(consumer=self.consumer.name, message_id=envelope.message_id)
                    .on_conflict_do_nothing()
                    .returning(processed_messages.c.message_id)
                )
            ).first()
            if first_time is None:
                return False
            outbox = Outbox(producer=self.service)
            await handler(envelope.payload, HandlerContext(session=session, outbox=outbox, envelope=envelope))
            await outbox.flush(session)
        return True

    async def _retry_or_give_up(self, message: AbstractIncomingMessage, error: Exception) -> None:
        attempts = _attempts(message) + 1
        if attempts > len(self.names.retries):
            await self._to_error_queue(message, reason="exhausted", error=error, attempts=attempts)
            return
        log.warning(
            "event_retry_scheduled",
            consumer=self.consumer.name,
            message_id=message.message_id,
            attempt=attempts,
            error=type(error).__name__,
        )
        await self._forward(message, queue=self.names.retries[attempts - 1], headers={ATTEMPTS_HEADER: attempts})
        EVENTS_RETRIED.labels(self.service, self.consumer.name, str(attempts)).inc()

    async def _to_error_queue(
        self, message: AbstractIncomingMessage, *, reason: str, error: Exception, attempts: int | None = None
    ) -> None:
        attempts = attempts if attempts is not None else _attempts(message) + 1
        log.error(
            "event_dead_lettered",
            consumer=self.consumer.name,
            message_id=message.message_id,
            reason=reason,
            attempts=attempts,
            error=type(error).__name__,
        )
        await self._forward(
            message,
            queue=self.names.error,
            headers={
                ATTEMPTS_HEADER: attempts,
                "x-error-reason": reason,
                "x-exception": type(error).__name__,
                "x-exception-message": str(error)[:1000],
                "x-failed-consumer": self.consumer.name,
                "x-failed-at": datetime.now(UTC).isoformat(),
            },
        )
        EVENTS_DEAD_LETTERED.labels(self.service, self.consumer.name, reason).inc()

    async def _forward(self, message: AbstractIncomingMessage, *, queue: str, headers: dict[str, Any]) -> None:
        if self._channel is None:
            raise RuntimeError("consumer not started")
        copy = copy_of(message, headers={**(message.headers or {}), **headers})
        await self.broker.send_to_queue(self._channel, copy, queue=queue)
        await message.ack()


def _attempts(message: AbstractIncomingMessage) -> int:
    value = (message.headers or {}).get(ATTEMPTS_HEADER, 0)
    return value if isinstance(value, int) else 0
