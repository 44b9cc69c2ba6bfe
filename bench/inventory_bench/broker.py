"""The round trip seen from the broker: a private queue on the (prefixed) events exchange bound to
booking's `requested` and `confirmed` routing keys, recording each envelope's `occurred_at`. Both
instants are stamped by booking's clock: the requested one when the booking commits its outbox row,
the confirmed one when booking's worker handles inventory's answer.

`python -m inventory_bench.broker delete` removes the run's exchanges and queues (bench/inventory
calls it after stopping the processes; the prefix is private to the run).
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass, field
from datetime import datetime

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from clinic_shared.events.catalogue import AppointmentConfirmed, AppointmentRequested
from clinic_shared.runtime import discover_services, topology_of

REQUESTED_KEY = AppointmentRequested.routing_key()
CONFIRMED_KEY = AppointmentConfirmed.routing_key()


@dataclass
class Sightings:
    requested: dict[str, datetime] = field(default_factory=dict)
    confirmed: dict[str, datetime] = field(default_factory=dict)
    duplicates: int = 0

    def saw(self, message: AbstractIncomingMessage) -> None:
        body = json.loads(message.body)
        kind = self.requested if message.routing_key == REQUESTED_KEY else self.confirmed
        appointment = body["payload"]["appointment_id"]
        if appointment in kind:
            self.duplicates += 1  # the relay publishes at least once
        kind.setdefault(appointment, datetime.fromisoformat(body["occurred_at"]))


def listener_queue(prefix: str) -> str:
    return f"{prefix}inventory-bench.round-trip"


class Listener:
    """A robust connection and a durable queue of the run's own: envelopes published while the broker
    dropped the connection wait in the queue instead of being lost (other engineers' fault tests drop
    every connection now and then)."""

    def __init__(self, amqp_url: str, prefix: str, exchange: str) -> None:
        self._url = amqp_url
        self._queue = listener_queue(prefix)
        self._exchange = exchange
        self.sightings = Sightings()
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self.rabbitmq_version = ""

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self._url, client_properties={"connection_name": "inventory-bench"}
        )
        properties = self._connection.transport.connection.server_properties  # type: ignore[union-attr]
        self.rabbitmq_version = f"{properties.get('product', '')} {properties.get('version', '')}".strip()
        channel = await self._connection.channel()
        exchange = await channel.get_exchange(self._exchange)
        queue = await channel.declare_queue(self._queue, durable=True)
        for key in (REQUESTED_KEY, CONFIRMED_KEY):
            await queue.bind(exchange, routing_key=key)
        await queue.consume(self._received, no_ack=True)

    async def _received(self, message: AbstractIncomingMessage) -> None:
        self.sightings.saw(message)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()


async def delete_topology(amqp_url: str) -> None:
    """Every exchange and queue the services and the listener declare under this environment's prefixes."""
    queues, exchanges = set(), set()
    for definition in discover_services().values():
        settings = definition.settings()
        if not settings.topology_prefix:
            raise SystemExit(f"{definition.name}: no topology prefix set; refusing to delete shared queues")
        queues.add(listener_queue(settings.topology_prefix))
        topology = topology_of(settings)
        exchanges.update({topology.events_exchange, topology.dead_letter_exchange})
        queues |= topology.declared_queues(
            service=settings.service_name, consumers=[consumer.name for consumer in definition.consumers]
        )
    connection = await aio_pika.connect(amqp_url)
    try:
        for queue in sorted(queues):
            channel = await connection.channel()  # a channel each, as the test plugin does
            await channel.queue_delete(queue)
            await channel.close()
        channel = await connection.channel()
        for exchange in sorted(exchanges):
            await channel.exchange_delete(exchange)
        await channel.close()
    finally:
        await connection.close()


if __name__ == "__main__":
    if sys.argv[1:2] != ["delete"] or len(sys.argv) != 3:
        raise SystemExit("usage: python -m inventory_bench.broker delete AMQP_URL")
    asyncio.run(delete_topology(sys.argv[2]))
