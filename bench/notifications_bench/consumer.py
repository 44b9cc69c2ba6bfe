"""Notifications' consumers for the latency row, in a process of their own pinned to the service core
(bench/notifications starts it next to booking-api, booking-worker and inventory-worker).

It runs the notifications worker's consumers, through the same runtime (`ConsumerRunner` on a robust
`Broker`, the service's prefetch and pool, the processed-message record in the handler's transaction,
ack after commit): every consumer of `notifications.main.SERVICE` as it is, except
`PATIENTS_AND_VISITS`, which runs under its own name and queue with every handler wrapped so that, on entry, it
notes the envelope's `occurred_at` (stamped by booking in the transaction that wrote the outbox row)
and the instant the handler started. The sender job is not run: the row ends at the handler.

It writes `--ready-file` once consuming, and when `--stop-file` appears (or on SIGTERM) stops and
writes what it saw to `--out`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop

from clinic_shared.db import create_engine, create_session_factory
from clinic_shared.logging import configure_logging
from clinic_shared.messaging import Broker, Consumer, ConsumerRunner, HandlerContext
from clinic_shared.messaging.consumer import Handler
from clinic_shared.runtime import topology_of
from notifications.consumers import PATIENTS_AND_VISITS
from notifications.main import SERVICE
from notifications.settings import NotificationsSettings


@dataclass
class Starts:
    """Per message id: its type, the appointment or patient it is about, `occurred_at`, the start of
    every handler run and the error of every failed one (the message came back through a retry tier)."""

    seen: dict[str, dict[str, Any]] = field(default_factory=dict)

    def timed(self, handler: Handler) -> Handler:
        async def started(event: Any, ctx: HandlerContext) -> None:
            now = datetime.now(UTC)
            envelope = ctx.envelope
            entry = self.seen.setdefault(str(envelope.message_id), {
                "type": envelope.routing_key,
                "subject": str(getattr(event, "appointment_id", None) or getattr(event, "patient_id", "")),
                "occurred_at": envelope.occurred_at.isoformat(),
                "started_at": [],
                "errors": [],
            })  # fmt: skip
            entry["started_at"].append(now.isoformat())
            try:
                await handler(event, ctx)
            except Exception as error:
                entry["errors"].append(type(error).__name__)
                raise

        return started


def timed_consumer(starts: Starts) -> Consumer:
    return Consumer(
        name=PATIENTS_AND_VISITS.name,
        handlers={event: starts.timed(handler) for event, handler in PATIENTS_AND_VISITS.handlers.items()},
    )


async def run(args: argparse.Namespace) -> int:
    settings = NotificationsSettings(
        environment="development",
        database_url=args.database_url,
        amqp_url=args.amqp_url,
        topology_prefix=args.prefix,
        log_level="WARNING",
    )
    configure_logging(service=settings.service_name, level=settings.log_level)
    # As clinic_shared.runtime.build_worker puts a worker together.
    engine = create_engine(
        settings.database_url.get_secret_value(),
        pool_size=settings.database_pool_size,
        application_name="notifications-worker",
    )
    factory = create_session_factory(engine)
    broker = Broker(
        settings.amqp_url.get_secret_value(),
        service=settings.service_name,
        topology=topology_of(settings),
        publish_timeout_s=settings.publish_timeout_s,
    )
    starts = Starts()
    runners = [
        ConsumerRunner(consumer=consumer, broker=broker, session_factory=factory, service=settings.service_name,
                       prefetch=settings.consumer_prefetch)
        for consumer in (
            timed_consumer(starts) if consumer.name == PATIENTS_AND_VISITS.name else consumer
            for consumer in SERVICE.consumers
        )
    ]  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await broker.connect(attempts=5)
        for runner in runners:
            await runner.start()
        args.ready_file.write_text("ready\n")
        # The stop file comes from another process; a signal ends the wait as well.
        while not stop.is_set() and not args.stop_file.exists():  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    finally:
        for runner in runners:
            await runner.stop()
        await broker.close()
        await engine.dispose()
    args.out.write_text(json.dumps({
        "consumer": PATIENTS_AND_VISITS.name,
        "prefetch": settings.consumer_prefetch,
        "database_pool_size": settings.database_pool_size,
        "messages": starts.seen,
    }) + "\n")  # fmt: skip
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description="notifications' timed consumers (started by bench/notifications)")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--amqp-url", required=True)
    parser.add_argument("--prefix", required=True, help="the run's topology prefix")
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--stop-file", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    sys.exit(uvloop.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
