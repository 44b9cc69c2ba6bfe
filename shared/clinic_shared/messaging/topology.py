"""Exchanges and queues, declared in code at start-up. Declaring is idempotent: every declarer passes
identical arguments, which RabbitMQ requires of quorum queues.

Per consumer (docs/adr/0003-topology-and-retry-tiers.md):

    events exchange (topic) --routing keys--> <service>.<consumer>            quorum, delivery limit,
                                                                              DLX -> error queue
    handler fails, attempt n  --publish-->    <service>.<consumer>.retry.<n>  quorum, TTL = delay n,
                                                                              DLX -> back to the main queue
    retries exhausted or message invalid -->  <service>.<consumer>.error      quorum, terminal

Events no service consumes but operators read (notifications' message delivered / failed, for audit and
dashboards) go to a bounded audit queue that their producer declares with the exchange, so publishing
them (mandatory, as every event is) never finds no queue bound. It is named under the producer's own
prefix, which its least-privilege broker user may configure:

    events exchange --AUDITED--> <service>.audit.<name>   quorum, at most AUDIT_MAX_LENGTH, oldest dropped
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

# Routing keys kept for audit and dashboards: by producing service, by audit queue.
AUDITED: dict[str, dict[str, tuple[str, ...]]] = {"notifications": {"message-outcomes": ("notifications.message.#",)}}
AUDIT_MAX_LENGTH = 100_000


@dataclass(frozen=True)
class QueueNames:
    main: str
    retries: tuple[str, ...]
    error: str


@dataclass(frozen=True)
class Topology:
    prefix: str
    exchange: str
    retry_delays_ms: tuple[int, ...]
    delivery_limit: int

    @property
    def events_exchange(self) -> str:
        return f"{self.prefix}{self.exchange}"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.prefix}{self.exchange}.dead-letter"

    def queue_names(self, *, service: str, consumer: str) -> QueueNames:
        main = f"{self.prefix}{service}.{consumer}"
        return QueueNames(
            main=main,
            retries=tuple(f"{main}.retry.{tier}" for tier in range(1, len(self.retry_delays_ms) + 1)),
            error=f"{main}.error",
        )

    def audit_queue(self, *, service: str, name: str) -> str:
        return f"{self.prefix}{service}.audit.{name}"

    def declared_queues(self, *, service: str, consumers: Iterable[str]) -> set[str]:
        """Every queue a service declares: its consumers' main, retry and error queues, and its audit
        queues (what a test run or a benchmark deletes after itself)."""
        queues = {self.audit_queue(service=service, name=name) for name in AUDITED.get(service, {})}
        for consumer in consumers:
            names = self.queue_names(service=service, consumer=consumer)
            queues.update({names.main, names.error, *names.retries})
        return queues

    async def declare_exchange(self, channel: AbstractChannel, *, service: str | None = None) -> AbstractExchange:
        """The events exchange, and the audit queues of what `service` publishes."""
        events = await channel.declare_exchange(self.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        for name, routing_keys in AUDITED.get(service or "", {}).items():
            queue = await channel.declare_queue(
                self.audit_queue(service=service or "", name=name),
                durable=True,
                arguments={"x-queue-type": "quorum", "x-max-length": AUDIT_MAX_LENGTH, "x-overflow": "drop-head"},
            )
            for routing_key in routing_keys:
                await queue.bind(events, routing_key=routing_key)
        return events

    async def declare_consumer(
        self, channel: AbstractChannel, *, service: str, consumer: str, routing_keys: tuple[str, ...]
    ) -> AbstractQueue:
        """Declare a consumer's main, retry and error queues and bind them; return the main queue."""
        names = self.queue_names(service=service, consumer=consumer)
        events = await self.declare_exchange(channel)
        dead_letters = await channel.declare_exchange(
            self.dead_letter_exchange, aio_pika.ExchangeType.DIRECT, durable=True
        )

        error = await channel.declare_queue(names.error, durable=True, arguments={"x-queue-type": "quorum"})
        await error.bind(dead_letters, routing_key=names.error)

        main = await channel.declare_queue(names.main, durable=True, arguments=self._main_arguments(names))
        for routing_key in routing_keys:
            await main.bind(events, routing_key=routing_key)

        for name, delay_ms in zip(names.retries, self.retry_delays_ms, strict=True):
            await channel.declare_queue(name, durable=True, arguments=self._retry_arguments(names, delay_ms))
        return main

    def _main_arguments(self, names: QueueNames) -> dict[str, Any]:
        # The delivery limit is the broker's guard against a message that kills the worker before
        # the worker can route it; ordinary failures go through the retry tiers instead.
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": self.delivery_limit,
            "x-dead-letter-exchange": self.dead_letter_exchange,
            "x-dead-letter-routing-key": names.error,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }

    def _retry_arguments(self, names: QueueNames, delay_ms: int) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-message-ttl": delay_ms,
            "x-delivery-limit": self.delivery_limit,
            # Expired messages go back to the main queue through the default exchange.
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": names.main,
            # At-least-once dead-lettering (RabbitMQ >= 3.10) needs reject-publish overflow.
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }
