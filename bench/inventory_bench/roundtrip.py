"""booking committed -> confirmed, with every process as deployed: booking-api, booking-worker and
inventory-worker (started and pinned by bench/inventory), this generator on the load core.

A bookable clinic is built through booking's API (booking_bench.fixtures); inventory learns of it
through booking's event, then gets the six-line face kit and stock (inventory_bench.fixtures). Visits
are booked open loop at a fixed rate, each into its own free cell of a booking grid
(booking_bench.slots), and for every visit the time from booking's `requested` envelope to its
`confirmed` envelope is read off a private queue. Writes its part of the result as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvloop
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from booking_bench import report
from booking_bench.fixtures import ALL_DAYS, GRID_STARTS, ZONE, Api, build_clinic
from booking_bench.openloop import DIGITS, HIGHEST_US, LOWEST_US, PERCENTILES, OpenLoopResult, open_loop
from booking_bench.slots import BookingGrid, GridClinic
from clinic_shared.db import create_engine, create_session_factory
from clinic_shared.runtime import SessionFactory
from inventory_bench import checks, fixtures
from inventory_bench.broker import CONFIRMED_KEY, REQUESTED_KEY, Listener, Sightings
from inventory_bench.fixtures import KitClinic
from inventory_bench.paths import RESERVED_KEY
from inventory_bench.rows import latency_run

PATH = "booking committed -> confirmed (inventory round trip)"
SETTLE_TIMEOUT_S = 60.0
SAGA_KEYS = (REQUESTED_KEY, CONFIRMED_KEY, RESERVED_KEY)
PENDING = "SELECT id FROM outbox WHERE published_at IS NULL AND coalesce(last_error, '') NOT LIKE 'unroutable%'"
UNROUTABLE = """
SELECT routing_key, count(*) FROM outbox WHERE published_at IS NULL AND last_error LIKE 'unroutable%' GROUP BY 1
"""


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


async def eventually(what: str, condition: Any, timeout_s: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            log(f"gave up waiting for {what} after {timeout_s:g} s")
            return False
        await asyncio.sleep(0.2)
    return True


async def build_grid(booking_url: str, admin_token: str) -> BookingGrid:
    """One clinic open 06:00-22:00 every day, no minimum notice, 10 practitioners, rooms and devices:
    840 free cells a day, handed out one day after the other."""
    async with httpx.AsyncClient(base_url=booking_url, timeout=30) as client:
        built = await build_clinic(
            Api(client, admin_token),
            name="Bench saga",
            hours={day: [{"opens": "06:00", "closes": "22:00"}] for day in ALL_DAYS},
            policy={"slot_grid_minutes": 15, "min_notice_minutes": 0, "horizon_days": 730},
            resources=10,
            practitioners=10,
        )
    return BookingGrid(
        clinics=(GridClinic(built.clinic_id, built.treatment_id, built.triples()),),
        first_day=datetime.now(UTC).date() + timedelta(days=2),
        days=700,
        starts=GRID_STARTS,
        zone=ZONE,
    )


class RoundTrip:
    def __init__(self, args: argparse.Namespace, booking_db: asyncpg.Connection, inventory_db: asyncpg.Connection,
                 factory: SessionFactory, listener: Listener) -> None:  # fmt: skip
        self.args = args
        self.booking_db = booking_db
        self.inventory_db = inventory_db
        self.factory = factory
        self.listener = listener

    async def set_up(self) -> tuple[BookingGrid, KitClinic]:
        log(f"set-up through booking's API at {self.args.booking_url}")
        grid = await build_grid(self.args.booking_url, self.args.admin_token_file.read_text().strip())
        clinic_id = uuid.UUID(grid.clinics[0].clinic_id)

        async def known() -> bool:
            return bool(await self.inventory_db.fetchval("SELECT 1 FROM clinics WHERE id = $1", clinic_id))

        if not await eventually("inventory to learn of the clinic", known, 30):
            raise RuntimeError("inventory never learnt of the clinic: is inventory-worker consuming?")
        items = fixtures.kit_items()
        await fixtures.add_items(self.factory, items)
        kit = await fixtures.stock_clinic(self.factory, clinic_id, items, lots_per_item=2, stock=fixtures.KIT_STOCK)
        return grid, kit

    async def book(self, grid: BookingGrid) -> OpenLoopResult:
        args = self.args
        log(f"booking open loop at {args.rate:g}/s for {args.warmup_s:g} s warm-up + {args.measure_s:g} s")
        return await open_loop(
            label=f"{PATH} @ {args.rate:g}/s",
            base_url=args.booking_url,
            make_request=lambda k: (
                "POST", "/appointments", json.dumps(grid.body("app", k), separators=(",", ":")).encode()
            ),
            rate=args.rate,
            warmup_s=args.warmup_s,
            seconds=args.measure_s,
            expected_status=201,
        )  # fmt: skip

    async def settle(self, answered: int) -> list[str]:
        """Wait for every visit to be confirmed and both outboxes to be published."""

        async def settled() -> bool:
            confirmed = await self.booking_db.fetchval("SELECT count(*) FROM appointments WHERE status = 'confirmed'")
            seen = self.listener.sightings
            return bool(confirmed == answered and len(seen.confirmed) >= answered and len(seen.requested) >= answered)

        async def drained() -> bool:
            return not [row for db in (self.booking_db, self.inventory_db) for row in await db.fetch(PENDING)]

        notes = []
        if not await eventually("every visit to be confirmed", settled, SETTLE_TIMEOUT_S):
            notes.append("FAIL not every visit was confirmed in time")
        if not await eventually("both outboxes to be published", drained, SETTLE_TIMEOUT_S):
            notes.append("FAIL outbox rows left unpublished in booking or inventory")
        for db in (self.booking_db, self.inventory_db):
            for row in await db.fetch(UNROUTABLE):
                # An event nobody in this tree subscribes to waits in the outbox by design.
                verdict = "FAIL " if row["routing_key"] in SAGA_KEYS else ""
                notes.append(f"{verdict}{row['count']} outbox rows {row['routing_key']} unroutable (no queue bound)")
        return notes

    async def verify(self, kit: KitClinic, answered: int, notes: list[str]) -> checks.CheckResult:
        seen = self.listener.sightings
        statuses = {
            row["status"]: row["count"]
            for row in await self.booking_db.fetch("SELECT status, count(*) FROM appointments GROUP BY status")
        }
        facts = {
            "booked_201": answered,
            "appointment_statuses": statuses,
            "requested_seen": len(seen.requested),
            "confirmed_seen": len(seen.confirmed),
            "redelivered_seen": seen.duplicates,
            "unconfirmed_seen": len(set(seen.requested) - set(seen.confirmed)),
        }
        if statuses != {"confirmed": answered} or facts["unconfirmed_seen"] or len(seen.requested) != answered:
            notes.append(f"FAIL not every booked visit ended confirmed: {facts}")
        outcome = await checks.check(
            self.inventory_db,
            self.factory,
            after=PATH,
            made=answered,
            lines=len(kit.lots),
            quantity=kit.kit_quantity,
            records=True,
            notes=notes,
        )
        outcome.facts |= facts
        return outcome


def round_trips(sightings: Sightings, measured_from: datetime) -> HdrHistogram:
    """requested -> confirmed per visit requested after the warm-up, in microseconds."""
    histogram = HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)
    for appointment, requested_at in sightings.requested.items():
        confirmed_at = sightings.confirmed.get(appointment)
        if confirmed_at is not None and requested_at >= measured_from:
            micros = int((confirmed_at - requested_at).total_seconds() * 1e6)
            histogram.record_value(min(HIGHEST_US, max(LOWEST_US, micros)))
    return histogram


def latency_row(booked: OpenLoopResult, histogram: HdrHistogram, seconds: float) -> dict[str, Any]:
    count = histogram.get_total_count()
    return latency_run(PATH, "fixed", booked) | {
        "count": count,
        "achieved_rate_per_s": round(count / seconds, 1),
        "latency_ms": {f"p{p:g}": histogram.get_value_at_percentile(p) / 1000 for p in PERCENTILES},
        "hdr": histogram.encode().decode(),
        "distribution": [
            [p, histogram.get_value_at_percentile(p) / 1000]
            for p in (0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100)
        ],
        # The generator's own view: POST /appointments from its intended send time (informational).
        "booking_post_latency_ms": booked.as_dict()["latency_ms"],
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


async def run(args: argparse.Namespace) -> int:
    booking_db = await asyncpg.connect(args.booking_dsn)
    inventory_db = await asyncpg.connect(args.inventory_dsn)
    engine = create_engine(args.inventory_database_url, pool_size=2, application_name="inventory-bench")
    listener = Listener(args.amqp_url, args.prefix, f"{args.prefix}{args.exchange}")
    try:
        await listener.start()
        trip = RoundTrip(args, booking_db, inventory_db, create_session_factory(engine), listener)
        grid, kit = await trip.set_up()
        measured_from = datetime.now(UTC) + timedelta(seconds=0.05 + args.warmup_s)
        booked = await trip.book(grid)
        answered = booked.statuses.get("201", 0) + booked.warmup_statuses.get("201", 0)
        notes = []
        if unexpected := booked.sent - booked.statuses.get("201", 0):
            notes.append(f"FAIL {unexpected} of {booked.sent} bookings not 201: {booked.statuses}")
        notes += await trip.settle(answered)
        outcome = await trip.verify(kit, answered, notes)
    finally:
        await listener.close()
        await engine.dispose()
        await booking_db.close()
        await inventory_db.close()

    row = latency_row(booked, round_trips(listener.sightings, measured_from), args.measure_s)
    row["check_ok"] = outcome.ok
    ms = row["latency_ms"]
    verdict = "ok" if outcome.ok else "FAILED"
    log(f"{PATH}: {row['count']} visits, p50 {ms['p50']:.2f} ms, p99 {ms['p99']:.2f} ms, check {verdict}")
    if not outcome.ok:
        log(f"  correctness: {outcome.as_dict()}")
    report.write_json(
        args.out,
        {
            "latency": [row],
            "checks": [outcome.as_dict()],
            "rabbitmq": listener.rabbitmq_version,
            "setup": {"grid": grid.to_json(), "kit_lines": [lot.__dict__ for lot in kit.lots]},
        },
    )
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description="the inventory round-trip latency (started by bench/inventory)")
    parser.add_argument("--booking-url", required=True)
    parser.add_argument("--booking-dsn", required=True)
    parser.add_argument("--inventory-dsn", required=True)
    parser.add_argument("--inventory-database-url", required=True)
    parser.add_argument("--amqp-url", required=True)
    parser.add_argument("--prefix", required=True, help="the run's topology prefix")
    parser.add_argument("--exchange", default="clinic.events", help="the events exchange, without the prefix")
    parser.add_argument("--admin-token-file", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--warmup-s", type=float, required=True)
    parser.add_argument("--measure-s", type=float, required=True)
    parser.add_argument("--out", type=Path, required=True)
    sys.exit(uvloop.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
