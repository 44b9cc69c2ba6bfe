"""`python -m notifications_bench.broker delete AMQP_URL` removes the run's exchanges and queues, whose
names all start with the run's private prefix (the services' settings name it; without one it refuses
to run): every consumer's queues of every service, the round trip's listener queue, E1's raw baseline
queues, and, when `rabbitmqctl` can list them, whatever else carries the prefix (the audit queues the
topology declares with the exchange, whose names have moved while this benchmark was written).
bench/notifications calls it after stopping the processes.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys

import aio_pika

from clinic_shared.runtime import discover_services, topology_of
from inventory_bench.broker import listener_queue
from notifications_bench.consuming import RAW_CONSUMER, SERVICE


def _listed(kind: str, prefix: str) -> set[str]:
    """Names of `kind` (queues, exchanges) starting with `prefix`, if rabbitmqctl is here and answers."""
    rabbitmqctl = shutil.which("rabbitmqctl")
    if rabbitmqctl is None:
        return set()
    try:
        out = subprocess.run(  # noqa: S603 - fixed arguments
            [rabbitmqctl, "-q", f"list_{kind}", "name"], capture_output=True, text=True, timeout=60, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return set()
    return {line.strip() for line in out.stdout.splitlines() if line.strip().startswith(prefix)}


async def _connect(amqp_url: str, *, attempts: int = 30) -> aio_pika.abc.AbstractConnection:
    """Other engineers' fault tests drop every connection or restart the broker now and then: wait for it."""
    for _ in range(attempts - 1):
        try:
            return await aio_pika.connect(amqp_url)
        except (ConnectionError, OSError, aio_pika.exceptions.AMQPConnectionError):
            await asyncio.sleep(1.0)
    return await aio_pika.connect(amqp_url)


async def delete_everything(amqp_url: str) -> None:
    queues: set[str] = set()
    exchanges: set[str] = set()
    prefixes: set[str] = set()
    for definition in discover_services().values():
        settings = definition.settings()
        if not settings.topology_prefix:
            raise SystemExit(f"{definition.name}: no topology prefix set; refusing to delete shared queues")
        prefixes.add(settings.topology_prefix)
        topology = topology_of(settings)
        exchanges |= {topology.events_exchange, topology.dead_letter_exchange}
        consumers = [consumer.name for consumer in definition.consumers]
        if definition.name == SERVICE:
            consumers.append(RAW_CONSUMER)
        for consumer in consumers:
            names = topology.queue_names(service=settings.service_name, consumer=consumer)
            queues |= {names.main, names.error, *names.retries}
    for prefix in prefixes:
        queues |= {listener_queue(prefix), *_listed("queues", prefix)}
        exchanges |= _listed("exchanges", prefix)
    connection = await _connect(amqp_url)
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
        raise SystemExit("usage: python -m notifications_bench.broker delete AMQP_URL")
    asyncio.run(delete_everything(sys.argv[2]))
