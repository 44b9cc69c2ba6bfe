"""E1 and the e-mail row, in one process pinned to the service core: notifications' consumer and the
raw aio-pika consumer draining the same pre-filled queues, then `send_due` and raw smtplib sending to
the same local SMTP server (notifications_bench.sink, on the load core); interleaved A B A B, each
measurement from reset tables and checked afterwards. Writes its part of the result as JSON.

Started by bench/notifications (see docs/benchmarks.md); the report is notifications_bench.main's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import asyncpg
import uvloop

from booking_bench import report, versions
from booking_bench.stats import RatioRow
from clinic_shared.db import create_engine, create_session_factory
from clinic_shared.logging import configure_logging
from clinic_shared.messaging import Broker
from clinic_shared.runtime import SessionFactory, topology_of
from notifications.consumers import PATIENTS_AND_VISITS
from notifications.settings import NotificationsSettings
from notifications_bench import checks, fixtures
from notifications_bench.consuming import SERVICE, Drained, declare_raw_queue, drain_raw, drain_service, fill
from notifications_bench.mail import Sent, send_raw, send_through_service
from notifications_bench.rows import RATIO_TARGETS

REPO = Path(__file__).resolve().parents[2]
# The warm-up drains (about a second each here) are this long; they also size the measured ones.
MIN_MESSAGES = {"E1": 600, "E1 raw": 10_000, "M1": 120, "M1 raw": 300}
# Filling a quorum queue runs at about ten thousand confirmed publishes a second here: the counts are
# capped so filling stays within seconds; a capped drain is shorter than aimed (rates, not counts, compare).
MAX_MESSAGES = {"E1": 50_000, "E1 raw": 100_000, "M1": 5_000, "M1 raw": 10_000}
# A pause between filling a queue and draining it: the first drain after a burst of publishing ran
# up to a quarter slower than the next ones in trials here (the broker still writing the burst away).
SETTLE_S = 1.0


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def bench_settings(args: argparse.Namespace) -> NotificationsSettings:
    """As the worker would be configured here (development defaults otherwise)."""
    return NotificationsSettings(
        environment="development",
        database_url=args.database_url,
        amqp_url=args.amqp_url,
        topology_prefix=args.prefix,
        smtp_host="127.0.0.1",
        smtp_port=args.smtp_port,
        log_level="WARNING",
    )


class Bench:
    def __init__(self, args: argparse.Namespace, settings: NotificationsSettings, db: asyncpg.Connection,
                 factory: SessionFactory, broker: Broker, raw_queue: str) -> None:  # fmt: skip
        self.args = args
        self.settings = settings
        self.db = db
        self.factory = factory
        self.broker = broker
        self.raw_queue = raw_queue
        self.service_queue = broker.topology.queue_names(service=SERVICE, consumer=PATIENTS_AND_VISITS.name).main
        self.runs: list[dict[str, Any]] = []
        self.checks: list[checks.CheckResult] = []
        self.counts: dict[str, int] = {}
        self.message_bytes = 0  # the service's mean e-mail size, which the raw baseline's match
        self.clinic_id = uuid.uuid4()  # M1's clinic, learnt from booking's event when M1 starts

    def sized(self, key: str, rate: float) -> int:
        """Messages for one measurement: what `rate` drains in the measurement time, within bounds."""
        wanted = round(rate * float(self.args.measure_s))
        return max(MIN_MESSAGES[key], min(MAX_MESSAGES[key], wanted))

    def record(self, result: Drained | Sent, outcome: checks.CheckResult) -> None:
        self.checks.append(outcome)
        self.runs.append(result.as_dict() | {
            "load_average_1m": round(os.getloadavg()[0], 2), "check_ok": outcome.ok,
        })  # fmt: skip
        log(
            f"{result.label:<24} {result.rate:>10,.1f}/s  ({result.messages} in {result.seconds:.2f} s)  "
            f"check {'ok' if outcome.ok else 'FAILED'}"
        )
        if not outcome.ok:
            log(f"  correctness: {outcome.as_dict()}")

    # --- E1 ---------------------------------------------------------------------------------------------
    async def consume(self, label: str, messages: int, *, service: bool) -> Drained:
        await checks.reset(self.db)
        bodies = [fixtures.envelope(fixtures.contact_changed(uuid.uuid4())) for _ in range(messages)]
        queue = self.service_queue if service else self.raw_queue
        await fill(self.broker, queue, bodies)
        await asyncio.sleep(SETTLE_S)
        prefetch = self.settings.consumer_prefetch
        timeout_s = max(60.0, 20 * self.args.measure_s)
        if service:
            drained = await drain_service(
                label, self.broker, self.factory, messages=messages, prefetch=prefetch, timeout_s=timeout_s
            )
        else:
            drained = await drain_raw(
                label, self.settings.amqp_url.get_secret_value(), queue, messages=messages, prefetch=prefetch,
                timeout_s=timeout_s,
            )  # fmt: skip
        self.record(drained, await checks.check_consumed(self.db, self.broker, drained, service=service))
        return drained

    async def e1(self) -> RatioRow:
        row = RatioRow(
            id="E1",
            what="consumer throughput with the idempotency record (drain a pre-filled queue)",
            subject="ConsumerRunner + PATIENTS_AND_VISITS: patient contact changed -> recipient upsert",
            baseline="aio-pika consume + ack, same queue type (quorum) and prefetch",
            target=RATIO_TARGETS["E1"],
        )
        warm = await self.consume("E1 service warm-up", MIN_MESSAGES["E1"], service=True)
        warm_raw = await self.consume("E1 raw warm-up", MIN_MESSAGES["E1 raw"], service=False)
        self.counts |= {"E1": self.sized("E1", warm.rate), "E1 raw": self.sized("E1 raw", warm_raw.rate)}
        for number in range(1, self.args.rounds + 1):
            row.subject_rates.append(
                (await self.consume(f"E1 service r{number}", self.counts["E1"], service=True)).rate
            )
            row.baseline_rates.append(
                (await self.consume(f"E1 raw r{number}", self.counts["E1 raw"], service=False)).rate
            )
        return row

    # --- e-mail -----------------------------------------------------------------------------------------
    async def send(self, label: str, messages: int, *, service: bool) -> Sent:
        if service:
            await checks.reset(self.db)
            await fixtures.queue_confirmations(self.factory, self.clinic_id, messages)
            sent = await send_through_service(
                label, self.factory, self.settings, messages=messages, count_port=self.args.count_port
            )
        else:
            sent = await send_raw(
                label, self.settings, messages=messages, count_port=self.args.count_port, size=self.message_bytes
            )
        self.record(sent, await checks.check_sent(self.db, sent, service=service))
        return sent

    async def m1(self) -> RatioRow:
        row = RatioRow(
            id="M1",
            what="booking confirmations rendered and delivered to a local SMTP server",
            subject="send_due(session_factory, settings) draining N queued confirmations",
            baseline="smtplib: N multipart e-mails of the same shape, one connection each",
            target=RATIO_TARGETS.get("M1"),
        )
        await fixtures.learn_clinic(self.factory, self.clinic_id)
        warm = await self.send("M1 service warm-up", MIN_MESSAGES["M1"], service=True)
        self.message_bytes = warm.received_bytes // max(1, warm.received)
        warm_raw = await self.send("M1 raw warm-up", MIN_MESSAGES["M1 raw"], service=False)
        self.counts |= {"M1": self.sized("M1", warm.rate), "M1 raw": self.sized("M1 raw", warm_raw.rate)}
        for number in range(1, self.args.rounds + 1):
            row.subject_rates.append((await self.send(f"M1 service r{number}", self.counts["M1"], service=True)).rate)
            row.baseline_rates.append((await self.send(f"M1 raw r{number}", self.counts["M1 raw"], service=False)).rate)
        return row


async def run(args: argparse.Namespace) -> int:
    if os.getloadavg()[0] > 1.0:
        log(f"warning: load average {os.getloadavg()[0]:.2f} before the run: other work competes for the cores")
    settings = bench_settings(args)
    configure_logging(service=settings.service_name, level=settings.log_level)
    db = await asyncpg.connect(args.dsn)
    # As the notifications worker builds its engine (clinic_shared.runtime): the service's pool size.
    engine = create_engine(
        settings.database_url.get_secret_value(),
        pool_size=settings.database_pool_size,
        application_name="notifications-bench",
    )
    broker = Broker(
        settings.amqp_url.get_secret_value(),
        service=settings.service_name,
        topology=topology_of(settings),
        publish_timeout_s=settings.publish_timeout_s,
    )
    try:
        recorded_versions = await versions.collect(db, REPO)
        recorded_versions["packages"] |= {name: version(name) for name in ("aio-pika", "aiormq", "aiosmtpd")}
        await broker.connect(attempts=3)
        channel = await broker.connection.channel()
        await broker.topology.declare_consumer(
            channel, service=SERVICE, consumer=PATIENTS_AND_VISITS.name, routing_keys=PATIENTS_AND_VISITS.routing_keys
        )
        await channel.close()
        bench = Bench(args, settings, db, create_session_factory(engine), broker, await declare_raw_queue(broker))
        log(f"E1: prefetch {settings.consumer_prefetch}, database pool {settings.database_pool_size}")
        rows = [await bench.e1()]
        log(f"M1: SMTP server 127.0.0.1:{args.smtp_port}")
        rows.append(await bench.m1())
    finally:
        await broker.close()
        await engine.dispose()
        await db.close()
    report.write_json(
        args.out,
        {
            "versions": recorded_versions,
            "ratios": [row.as_dict() for row in rows],
            "throughput_runs": bench.runs,
            "checks": [c.as_dict() for c in bench.checks],
            "setup": {
                "messages_per_measurement": bench.counts,
                "consumer_prefetch": settings.consumer_prefetch,
                "database_pool_size": settings.database_pool_size,
                "queue_type": "quorum (Topology.declare_consumer)",
                "service_queue": bench.service_queue,
                "raw_queue": bench.raw_queue,
                "smtp": f"127.0.0.1:{args.smtp_port}",
            },
        },
    )
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description="E1 and the e-mail row (started by bench/notifications)")
    parser.add_argument("--dsn", required=True, help="libpq DSN of the benchmark's notifications database")
    parser.add_argument("--database-url", required=True, help="the same database as an SQLAlchemy asyncpg URL")
    parser.add_argument("--amqp-url", required=True)
    parser.add_argument("--prefix", required=True, help="the run's topology prefix")
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--count-port", type=int, required=True)
    parser.add_argument("--measure-s", type=float, required=True, help="aimed length of one measurement")
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    sys.exit(uvloop.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
