"""booking committed -> notification handler started, with booking and inventory as deployed
(booking-api, booking-worker, inventory-worker, started and pinned by bench/notifications) and
notifications' timed consumers (notifications_bench.consumer) on the service core; this generator on
the load core.

The set-up and the booking load are the inventory round trip's (inventory_bench.roundtrip): a clinic
built through booking's API, the face kit stocked in inventory, visits booked open loop at a fixed
rate, each into its own free cell. Every booking commits a new patient's `contact changed` with the
`requested` row (booking-api); inventory reserves the kit; booking-worker commits `confirmed`; the
relays publish on NOTIFY. For each visit booked after the warm-up, the row is the notifications
handler's start minus the `confirmed` envelope's `occurred_at`; the patient's `contact changed`
gives the informational row from booking-api's commit. Writes its part of the result as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import uvloop
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from booking_bench import report
from booking_bench.openloop import DIGITS, HIGHEST_US, LOWEST_US, PERCENTILES, OpenLoopResult
from clinic_shared.db import create_engine, create_session_factory
from clinic_shared.events import catalogue
from inventory_bench.broker import Listener
from inventory_bench.roundtrip import RoundTrip, eventually
from notifications_bench.checks import CheckResult, message_statuses
from notifications_bench.rows import CONFIRMED_PATH, CONTACT_PATH

CONFIRMED_KEY = catalogue.AppointmentConfirmed.routing_key()
CONTACT_KEY = catalogue.PatientContactChanged.routing_key()
SETTLE_TIMEOUT_S = 60.0
GRID_DAYS = 300
RELAY_WAKE = """
SELECT count(*) FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
 WHERE t.tgrelid = 'outbox'::regclass AND p.prosrc LIKE '%pg_notify%'
"""


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def histogram_of(
    seen: dict[str, dict[str, Any]], routing_key: str, included: Callable[[dict[str, Any]], bool]
) -> HdrHistogram:
    """occurred_at -> first handler start, in microseconds, for the messages `included` keeps."""
    histogram = HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)
    for entry in seen.values():
        if entry["type"] != routing_key or not included(entry):
            continue
        started_at = datetime.fromisoformat(entry["started_at"][0])
        occurred_at = datetime.fromisoformat(entry["occurred_at"])
        micros = int((started_at - occurred_at).total_seconds() * 1e6)
        histogram.record_value(min(HIGHEST_US, max(LOWEST_US, micros)))
    return histogram


def latency_row(path: str, histogram: HdrHistogram, *, rate: float, seconds: float) -> dict[str, Any]:
    count = histogram.get_total_count()
    return {
        "path": path,
        "load": "fixed",
        "count": count,
        "target_rate_per_s": rate,
        "achieved_rate_per_s": round(count / seconds, 1),
        "latency_ms": {f"p{p:g}": histogram.get_value_at_percentile(p) / 1000 for p in PERCENTILES},
        "hdr": histogram.encode().decode(),
        "distribution": [
            [p, histogram.get_value_at_percentile(p) / 1000]
            for p in (0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100)
        ],
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


async def stop_consumer(args: argparse.Namespace) -> dict[str, Any]:
    args.stop_file.write_text("stop\n")
    for _ in range(300):
        if args.consumer_out.exists():
            saw: dict[str, Any] = json.loads(args.consumer_out.read_text())
            return saw
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the notifications consumer wrote no {args.consumer_out}")


async def check_notifications(db: asyncpg.Connection, seen: dict[str, dict[str, Any]], answered: int) -> CheckResult:
    """Every confirmed visit reached the handler once and queued its confirmation once."""
    confirmed = [e for e in seen.values() if e["type"] == CONFIRMED_KEY]
    contacts = [e for e in seen.values() if e["type"] == CONTACT_KEY]
    statuses = await message_statuses(db)
    facts = {
        "booked_201": answered,
        "confirmed_messages_handled": len(confirmed),
        "distinct_visits_confirmed": len({e["subject"] for e in confirmed}),
        "contact_messages_handled": len(contacts),
        "handler_runs_failed": dict(Counter(f"{e['type']}: {error}" for e in seen.values() for error in e["errors"])),
        "message_statuses": statuses,
    }
    notes = []
    expected = {
        "confirmed_messages_handled": (len(confirmed), answered),
        "distinct_visits_confirmed": (facts["distinct_visits_confirmed"], answered),
        "contact_messages_handled": (len(contacts), answered),
        "confirmations": (statuses.get("confirmation"), {"queued": answered}),
    }
    for name, (found, wanted) in expected.items():
        if found != wanted:
            notes.append(f"FAIL {name}: {found}, expected {wanted}")
    if facts["handler_runs_failed"]:
        # E.g. a visit's event that overtook its patient's details: retried through the tiers (the first
        # start still counts as the start); worth knowing, not wrong.
        notes.append(f"handler runs failed and were retried: {facts['handler_runs_failed']}")
    return CheckResult(after=CONFIRMED_PATH, ok=not any(n.startswith("FAIL") for n in notes), facts=facts, notes=notes)


async def run(args: argparse.Namespace) -> int:
    booking_db = await asyncpg.connect(args.booking_dsn)
    inventory_db = await asyncpg.connect(args.inventory_dsn)
    notifications_db = await asyncpg.connect(args.notifications_dsn)
    engine = create_engine(args.inventory_database_url, pool_size=2, application_name="notifications-bench")
    listener = Listener(args.amqp_url, args.prefix, f"{args.prefix}{args.exchange}")
    try:
        relay_wake = "LISTEN/NOTIFY (trigger on outbox)" if await booking_db.fetchval(RELAY_WAKE) else "polling only"
        await listener.start()
        trip = RoundTrip(args, booking_db, inventory_db, create_session_factory(engine), listener)
        grid, kit = await trip.set_up()
        # Every visit on a day of its own until the days run out (booking_bench.slots): 300 days keep
        # every visit within the shelf life of the kit's first lots (inventory_bench.fixtures).
        grid = dataclasses.replace(grid, days=GRID_DAYS)
        measured_from = datetime.now(UTC) + timedelta(seconds=0.05 + args.warmup_s)
        booked: OpenLoopResult = await trip.book(grid)
        answered = booked.statuses.get("201", 0) + booked.warmup_statuses.get("201", 0)
        notes = []
        if unexpected := booked.sent - booked.statuses.get("201", 0):
            notes.append(f"FAIL {unexpected} of {booked.sent} bookings not 201: {booked.statuses}")
        notes += await trip.settle(answered)

        async def all_queued() -> bool:
            queued = await notifications_db.fetchval("SELECT count(*) FROM messages WHERE kind = 'confirmation'")
            return bool(queued >= answered)

        if not await eventually("notifications to queue every confirmation", all_queued, SETTLE_TIMEOUT_S):
            notes.append("FAIL notifications did not queue every confirmation in time")
        saga = await trip.verify(kit, answered, notes)
        seen = (await stop_consumer(args))["messages"]
        notified = await check_notifications(notifications_db, seen, answered)
    finally:
        await listener.close()
        await engine.dispose()
        for db in (booking_db, inventory_db, notifications_db):
            await db.close()

    def booked_after_warmup(entry: dict[str, Any]) -> bool:
        """A visit counts when booking-api committed it after the warm-up, as its patient's details do."""
        requested_at = listener.sightings.requested.get(entry["subject"])
        return requested_at is not None and requested_at >= measured_from

    def stamped_after_warmup(entry: dict[str, Any]) -> bool:
        return datetime.fromisoformat(entry["occurred_at"]) >= measured_from

    rows = [
        latency_row(CONFIRMED_PATH, histogram_of(seen, CONFIRMED_KEY, booked_after_warmup), rate=args.rate,
                    seconds=args.measure_s),
        latency_row(CONTACT_PATH, histogram_of(seen, CONTACT_KEY, stamped_after_warmup), rate=args.rate,
                    seconds=args.measure_s),
    ]  # fmt: skip
    rows[0] |= {"relay_wake": relay_wake, "booking_post_latency_ms": booked.as_dict()["latency_ms"]}
    for row in rows:
        row["check_ok"] = saga.ok and notified.ok
        ms = row["latency_ms"]
        log(f"{row['path']}: {row['count']} messages, p50 {ms['p50']:.2f} ms, p99 {ms['p99']:.2f} ms")
    for outcome in (saga, notified):
        log(f"check after {outcome.after}: {'ok' if outcome.ok else 'FAILED'}")
        if not outcome.ok:
            log(f"  correctness: {outcome.as_dict()}")
    report.write_json(
        args.out,
        {
            "latency": rows,
            "checks": [saga.as_dict(), notified.as_dict()],
            "rabbitmq": listener.rabbitmq_version,
            "setup": {
                "grid": grid.to_json(),
                "kit_lines": [lot.__dict__ for lot in kit.lots],
                "relay_wake": relay_wake,
            },
        },
    )
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description="the notification latency row (started by bench/notifications)")
    parser.add_argument("--booking-url", required=True)
    parser.add_argument("--booking-dsn", required=True)
    parser.add_argument("--inventory-dsn", required=True)
    parser.add_argument("--inventory-database-url", required=True)
    parser.add_argument("--notifications-dsn", required=True)
    parser.add_argument("--amqp-url", required=True)
    parser.add_argument("--prefix", required=True, help="the run's topology prefix")
    parser.add_argument("--exchange", default="clinic.events", help="the events exchange, without the prefix")
    parser.add_argument("--admin-token-file", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--warmup-s", type=float, required=True)
    parser.add_argument("--measure-s", type=float, required=True)
    parser.add_argument("--stop-file", type=Path, required=True, help="tells notifications_bench.consumer to stop")
    parser.add_argument("--consumer-out", type=Path, required=True, help="what notifications_bench.consumer saw")
    parser.add_argument("--out", type=Path, required=True)
    sys.exit(uvloop.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
