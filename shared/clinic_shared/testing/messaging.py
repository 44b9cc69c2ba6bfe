"""Test support for messaging: a probe consumer with an effects table that counts how often each
message was applied, emit/observe helpers, and `eventually` for asserting on asynchronous outcomes."""

from __future__ import annotations

import asyncio
import collections
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import aio_pika
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Column, Connection, Integer, Table, Uuid, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from clinic_shared.db import new_metadata
from clinic_shared.events import Envelope
from clinic_shared.events.catalogue import Address, ClinicChanged
from clinic_shared.messaging import Broker, Consumer, ConsumerRunner, HandlerContext, Topology
from clinic_shared.migrations import create_plumbing_v1
from clinic_shared.outbox import Outbox, OutboxRelay
from clinic_shared.runtime import SessionFactory
from clinic_shared.testing.plugin import TestEnvironment

effects_metadata = new_metadata()
effects = Table(
    "probe_effects",
    effects_metadata,
    Column("message_id", Uuid, primary_key=True),
    Column("applied", Integer, nullable=False),
)


def create_probe_schema(connection: Connection) -> None:
    """The plumbing tables, as every service migration creates them, and the effects table."""
    create_plumbing_v1(Operations(MigrationContext.configure(connection)))
    effects_metadata.create_all(connection)


def clinic_event(behaviour: str = "ok") -> ClinicChanged:
    """An event whose `name` tells the probe handler how to behave: ok, poison, or flaky:<failures>."""
    return ClinicChanged(
        clinic_id=uuid.uuid4(),
        revision=1,
        name=behaviour,
        address=Address(line1="1 Test Street", city="Testville", postal_code="1000", country="NL"),
        timezone="Europe/Amsterdam",
        phone="+31201234567",
    )


@dataclass
class Harness:
    env: TestEnvironment
    engine: AsyncEngine
    session_factory: SessionFactory
    broker: Broker
    database_url: str
    failures: collections.Counter[UUID] = field(default_factory=collections.Counter)
    runners: list[ConsumerRunner] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @property
    def topology(self) -> Topology:
        return self.broker.topology

    def consumer(self, name: str = "probe") -> Consumer:
        return Consumer(name=name, handlers={ClinicChanged: self.record})

    async def record(self, event: ClinicChanged, ctx: HandlerContext) -> None:
        message_id = ctx.envelope.message_id
        if event.name == "poison":
            raise RuntimeError("this message can never be handled")
        if event.name.startswith("flaky:"):
            self.failures[message_id] += 1
            if self.failures[message_id] <= int(event.name.split(":")[1]):
                raise ConnectionError("a transient failure")
        statement = insert(effects).values(message_id=message_id, applied=1)
        await ctx.session.execute(
            statement.on_conflict_do_update(
                index_elements=[effects.c.message_id], set_={"applied": effects.c.applied + 1}
            )
        )

    async def start_consumer(self, consumer: Consumer | None = None) -> ConsumerRunner:
        runner = ConsumerRunner(
            consumer=consumer or self.consumer(),
            broker=self.broker,
            session_factory=self.session_factory,
            service="probe",
            prefetch=16,
        )
        await runner.start()
        self.runners.append(runner)
        names = runner.names
        self.env.extra_queues.update({names.main, names.error, *names.retries})
        return runner

    def relay(self, relay_class: type[OutboxRelay] = OutboxRelay, **overrides: Any) -> OutboxRelay:
        options: dict[str, Any] = {"batch_size": 50, "poll_interval_s": 0.5, **overrides}
        return relay_class(
            engine=self.engine, broker=self.broker, service="probe", database_url=self.database_url, **options
        )

    def run_in_background(self, coroutine: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self.tasks.append(task)
        return task

    async def emit(self, *payloads: ClinicChanged, commit: bool = True) -> list[Envelope[Any]]:
        """Write events to the outbox in one transaction, committed or rolled back."""
        outbox = Outbox(producer="probe")
        envelopes = [outbox.add(payload) for payload in payloads]
        async with self.session_factory() as session:
            await outbox.flush(session)
            if commit:
                await session.commit()
            else:
                await session.rollback()
        return envelopes

    async def publish_directly(self, envelope: Envelope[Any]) -> None:
        await self.broker.publish_event(envelope.to_json_dict(), routing_key=envelope.routing_key)

    async def applied(self, message_ids: list[UUID]) -> dict[UUID, int]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(select(effects).where(effects.c.message_id.in_(message_ids)))
            return {row.message_id: row.applied for row in rows}

    async def observer(self) -> aio_pika.abc.AbstractQueue:
        """A private queue that sees every event on this test's exchange."""
        channel = await self.broker.connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(self.topology.events_exchange, routing_key="#")
        return queue


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout_s: float = 10.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.05)


async def drain(
    queue: aio_pika.abc.AbstractQueue, *, quiet_s: float = 0.5
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Everything in `queue` until it stays empty for `quiet_s`."""
    messages = []
    loop = asyncio.get_running_loop()
    quiet_since = loop.time()
    while loop.time() - quiet_since < quiet_s:
        message = await queue.get(no_ack=True, fail=False)
        if message is None:
            await asyncio.sleep(0.05)
            continue
        messages.append(message)
        quiet_since = loop.time()
    return messages


async def handle_directly(
    session_factory: SessionFactory,
    handler: Callable[[Any, HandlerContext], Awaitable[None]],
    event: Any,
    *,
    producer: str,
    consumer: str,
    occurred_at: datetime | None = None,
) -> None:
    """Hand `event` (from `producer`) to a handler of `consumer` in its own transaction, with the outbox
    riding in it, as the consumer runner would: a service's state set up without a broker."""
    async with session_factory() as session, session.begin():
        outbox = Outbox(producer=consumer)
        envelope = Envelope.wrap(event, producer=producer, occurred_at=occurred_at)
        await handler(event, HandlerContext(session=session, outbox=outbox, envelope=envelope))
        await outbox.flush(session)
