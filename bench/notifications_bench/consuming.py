"""The two ways of draining a queue that E1 compares; both queues are filled with the same N
`patient contact changed` envelopes first (published with confirms, ~100 in flight), then drained
and timed from the start of consuming until the N-th ack.

Ours: `clinic_shared.messaging.ConsumerRunner` with notifications' real consumer
`PATIENTS_AND_VISITS` on its real queue (`<prefix>notifications.patients-and-visits`, declared by the
runner as the worker declares it), on a robust connection (`Broker`), the prefetch and database pool
of the service's settings. Per message: parse and validate the envelope, one transaction holding the
processed-message record and the handler's effect (`apply_contact`: an upsert of the recipient),
commit, then ack.

Raw: aio-pika on a plain connection, the same prefetch, a queue declared by the same
`Topology.declare_consumer` (so quorum, with the same delivery limit, dead-letter and overflow
arguments), the callback acks and counts. No parsing, no database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from clinic_shared.messaging import Broker, ConsumerRunner
from clinic_shared.messaging.broker import message_from_body
from clinic_shared.metrics import EVENTS_CONSUMED, EVENTS_DEAD_LETTERED, EVENTS_RETRIED
from clinic_shared.runtime import SessionFactory
from notifications.consumers import PATIENTS_AND_VISITS

SERVICE = "notifications"
RAW_CONSUMER = "e1-raw"  # the raw baseline's queue: <prefix>notifications.e1-raw (and its retry/error queues)
IN_FLIGHT = 100
POLL_S = 0.005


@dataclass
class Drained:
    label: str
    messages: int
    seconds: float
    acked: int  # ours: applied and acknowledged; raw: acknowledged
    duplicates: int = 0
    failed: int = 0  # ours: sent to a retry tier or the error queue

    @property
    def rate(self) -> float:
        return self.acked / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "rate_per_s": round(self.rate, 1),
            "messages": self.messages,
            "seconds": round(self.seconds, 3),
            "acked": self.acked,
            "duplicates": self.duplicates,
            "failed": self.failed,
        }


async def declare_raw_queue(broker: Broker) -> str:
    channel = await broker.connection.channel()
    try:
        queue = await broker.topology.declare_consumer(channel, service=SERVICE, consumer=RAW_CONSUMER, routing_keys=())
    finally:
        await channel.close()
    return queue.name


async def fill(broker: Broker, queue: str, bodies: Sequence[dict[str, Any]]) -> None:
    """Put `bodies` straight into `queue` (default exchange), confirmed, `IN_FLIGHT` at a time, then
    wait until the broker reports them all ready."""
    channel = await broker.connection.channel(publisher_confirms=True, on_return_raises=True)
    try:
        for start in range(0, len(bodies), IN_FLIGHT):
            await asyncio.gather(
                *(
                    channel.default_exchange.publish(message_from_body(body), routing_key=queue, mandatory=True)
                    for body in bodies[start : start + IN_FLIGHT]
                )
            )
        for _ in range(200):
            if await depth(channel, queue) >= len(bodies):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{queue}: {await depth(channel, queue)} ready after publishing {len(bodies)}")
    finally:
        await channel.close()


async def depth(channel: AbstractChannel, queue: str) -> int:
    declared = await channel.declare_queue(queue, passive=True)
    return declared.declaration_result.message_count or 0


def _settled() -> tuple[int, int, int]:
    """Notifications' consumer so far: applied, duplicate, failed (sent to a retry tier or the error
    queue), from the runtime's own counters (each metric collected alone: this runs every few ms)."""
    counts = {"applied": 0.0, "duplicate": 0.0, "failed": 0.0}
    for metric in (EVENTS_CONSUMED, EVENTS_RETRIED, EVENTS_DEAD_LETTERED):
        for family in metric.collect():
            for sample in family.samples:
                if not sample.name.endswith("_total") or sample.labels.get("consumer") != PATIENTS_AND_VISITS.name:
                    continue
                counts[sample.labels.get("outcome", "failed")] += sample.value
    return int(counts["applied"]), int(counts["duplicate"]), int(counts["failed"])


async def drain_service(
    label: str, broker: Broker, factory: SessionFactory, *, messages: int, prefetch: int, timeout_s: float
) -> Drained:
    """Start notifications' consumer on its filled queue; time until `messages` are settled."""
    before = _settled()
    runner = ConsumerRunner(
        consumer=PATIENTS_AND_VISITS, broker=broker, session_factory=factory, service=SERVICE, prefetch=prefetch
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    await runner.start()
    try:
        while True:
            applied, duplicates, failed = (now - then for now, then in zip(_settled(), before, strict=True))
            if applied + duplicates + failed >= messages or loop.time() - started > timeout_s:
                break
            await asyncio.sleep(POLL_S)
        seconds = loop.time() - started
    finally:
        await runner.stop()
    return Drained(label, messages, seconds, applied, duplicates=duplicates, failed=failed)


async def drain_raw(
    label: str, amqp_url: str, queue: str, *, messages: int, prefetch: int, timeout_s: float
) -> Drained:
    connection = await aio_pika.connect(amqp_url, client_properties={"connection_name": "notifications-bench-raw"})
    acked = 0
    done = asyncio.Event()

    async def on_message(message: AbstractIncomingMessage) -> None:
        nonlocal acked
        await message.ack()
        acked += 1
        if acked == messages:
            done.set()

    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        loop = asyncio.get_running_loop()
        started = loop.time()
        declared = await channel.declare_queue(queue, passive=True)
        tag = await declared.consume(on_message, no_ack=False)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=timeout_s)
        seconds = loop.time() - started
        await declared.cancel(tag)
        await channel.close()
    finally:
        await connection.close()
    return Drained(label, messages, seconds, acked)
