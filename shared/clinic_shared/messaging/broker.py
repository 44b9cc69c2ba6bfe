"""One robust AMQP connection per process, and publishing that only returns once the broker has the
message: publisher confirms, `mandatory` (an unroutable message is an error, not a silent drop),
persistent delivery and a timeout."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage, AbstractRobustConnection

from clinic_shared.logging import get_logger
from clinic_shared.messaging.topology import Topology

log = get_logger(__name__)

# How soon a robust connection tries again after losing the broker (aio-pika's default is 5 s).
RECONNECT_INTERVAL_S = 1.0


def message_from_body(body: Mapping[str, Any], *, headers: Mapping[str, Any] | None = None) -> aio_pika.Message:
    """An AMQP message for an envelope: the body is the whole envelope, the properties repeat what
    brokers, tracing and the operator CLI read without parsing the body."""
    trace = body.get("trace_context") or {}
    all_headers: dict[str, Any] = {"traceparent": trace.get("traceparent")}
    if trace.get("tracestate"):
        all_headers["tracestate"] = trace["tracestate"]
    all_headers.update(headers or {})
    return aio_pika.Message(
        body=json.dumps(body, separators=(",", ":")).encode(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(body["message_id"]),
        correlation_id=str(body["correlation_id"]),
        type=f"{body['type']}.v{body['version']}",
        app_id=str(body["producer"]),
        timestamp=datetime.fromisoformat(str(body["occurred_at"])),
        headers=all_headers,
    )


def copy_of(message: AbstractIncomingMessage, *, headers: Mapping[str, Any]) -> aio_pika.Message:
    """A persistent copy of a received message with `headers` as its new headers, for moving it to a
    retry tier, an error queue or back from one."""
    return aio_pika.Message(
        body=message.body,
        content_type=message.content_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        type=message.type,
        app_id=message.app_id,
        timestamp=message.timestamp,
        headers=dict(headers),
    )


class Broker:
    def __init__(self, amqp_url: str, *, service: str, topology: Topology, publish_timeout_s: float) -> None:
        self._url = amqp_url
        self._service = service
        self.topology = topology
        self._publish_timeout_s = publish_timeout_s
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None

    @property
    def connection(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise RuntimeError("broker not connected")
        return self._connection

    @property
    def is_connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed and self._connection.connected.is_set()

    async def connect(self, *, attempts: int = 30, delay_s: float = 1.0) -> None:
        """Connect, waiting for a broker that is still starting; afterwards aio-pika reconnects by itself."""
        for attempt in range(1, attempts + 1):
            try:
                self._connection = await aio_pika.connect_robust(
                    self._url,
                    client_properties={"connection_name": f"{self._service}-{id(self):x}"},
                    reconnect_interval=RECONNECT_INTERVAL_S,
                )
                break
            except (ConnectionError, OSError, aio_pika.exceptions.AMQPConnectionError) as error:
                if attempt == attempts:
                    raise
                log.warning("broker_unreachable", attempt=attempt, error=type(error).__name__)
                await asyncio.sleep(delay_s)
        self._channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await self.topology.declare_exchange(self._channel, service=self._service)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def channel(self, *, prefetch: int) -> AbstractChannel:
        channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        await channel.set_qos(prefetch_count=prefetch)
        return channel

    async def publish_event(self, body: Mapping[str, Any], *, routing_key: str) -> None:
        """Publish an envelope to the events exchange; raises unless the broker confirmed it."""
        if self._exchange is None:
            raise RuntimeError("broker not connected")
        await self._exchange.publish(
            message_from_body(body), routing_key=routing_key, mandatory=True, timeout=self._publish_timeout_s
        )

    async def send_to_queue(self, channel: AbstractChannel, message: aio_pika.Message, *, queue: str) -> None:
        """Put a message straight into a named queue (retry tiers, error queues, replays)."""
        await channel.default_exchange.publish(
            message, routing_key=queue, mandatory=True, timeout=self._publish_timeout_s
        )
