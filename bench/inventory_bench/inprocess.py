"""I1, I2 and the reserve-a-kit latency, in one process pinned to the service core: inventory's
handler and the raw asyncpg baseline driven by the same N tasks, interleaved (A B A B), each
measurement from reset tables and checked afterwards. Writes its part of the result as JSON.

Started by bench/inventory (see docs/benchmarks.md); the report is inventory_bench.main's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Awaitable
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import uvloop

from booking_bench import report, versions
from booking_bench.stats import RatioRow
from clinic_shared.db import create_engine, create_session_factory
from clinic_shared.runtime import SessionFactory
from inventory_bench import checks, fixtures
from inventory_bench.fixtures import KitClinic
from inventory_bench.load import Saturated, open_loop_in_process, saturate
from inventory_bench.paths import reserve_raw, reserve_through_service
from inventory_bench.rows import RATIO_TARGETS, latency_run

REPO = Path(__file__).resolve().parents[2]


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


class Bench:
    def __init__(
        self, args: argparse.Namespace, db: asyncpg.Connection, factory: SessionFactory, pool: asyncpg.Pool
    ) -> None:
        self.args = args
        self.db = db
        self.factory = factory
        self.pool = pool
        self.runs: list[dict[str, Any]] = []
        self.checks: list[checks.CheckResult] = []

    async def measure(self, label: str, clinics: list[KitClinic], *, service: bool) -> Saturated:
        """Reset, then `concurrency` tasks reserving back to back (task k at clinic k mod the clinics)."""
        await checks.reset(self.db)
        sessions_before = await _sessions_opened(self.db)

        def call(task: int) -> Awaitable[None]:
            clinic = clinics[task % len(clinics)]
            return reserve_through_service(self.factory, clinic) if service else reserve_raw(self.pool, clinic)

        result = await saturate(
            label, call, concurrency=self.args.concurrency, warmup_s=self.args.warmup_s, seconds=self.args.measure_s
        )
        notes = [f"FAIL {result.error_count} reservations failed: {result.errors}"] if result.error_count else []
        outcome = await checks.check(
            self.db,
            self.factory,
            after=label,
            made=result.completed,
            lines=len(clinics[0].lots),
            quantity=clinics[0].kit_quantity,
            records=service,
            notes=notes,
        )
        self.checks.append(outcome)
        run = result.as_dict() | {
            "db_sessions_opened": await _sessions_opened(self.db) - sessions_before,
            "load_average_1m": round(os.getloadavg()[0], 2),
            "check_ok": outcome.ok,
        }
        self.runs.append(run)
        log(
            f"{label:<32} {result.rate:>9,.1f}/s  ({result.completed} in all)  check {'ok' if outcome.ok else 'FAILED'}"
        )
        if not outcome.ok:
            log(f"  correctness: {outcome.as_dict()}")
        return result

    async def rounds(self, kit: list[KitClinic], hot: KitClinic) -> list[RatioRow]:
        i1 = RatioRow(
            id="I1",
            what="reserve a kit across many items (6 lines), saturated",
            subject="reserve_for_visit in its transaction (in-process)",
            baseline="asyncpg: 6 conditional UPDATE ... RETURNING + ledger batch + outbox row",
            target=RATIO_TARGETS["I1"],
        )
        i2 = RatioRow(
            id="I2",
            what="reservations on one hot item (one lot), saturated",
            subject="reserve_for_visit in its transaction (in-process)",
            baseline="asyncpg: hot-row conditional UPDATE + ledger row + outbox row",
            target=RATIO_TARGETS["I2"],
        )
        for number in range(1, self.args.rounds + 1):
            i1.subject_rates.append((await self.measure(f"I1 service r{number}", kit, service=True)).rate)
            i1.baseline_rates.append((await self.measure(f"I1 raw r{number}", kit, service=False)).rate)
            i2.subject_rates.append((await self.measure(f"I2 service r{number}", [hot], service=True)).rate)
            i2.baseline_rates.append((await self.measure(f"I2 raw r{number}", [hot], service=False)).rate)
        return [i1, i2]

    async def latency(self, kit: list[KitClinic], maximum: float) -> list[dict[str, Any]]:
        runs = []
        for share, name in ((0.5, "50%"), (0.8, "80%")):
            await checks.reset(self.db)
            rate = max(1.0, share * maximum)
            label = f"reserve a kit @ {name}"
            result, counted = await open_loop_in_process(
                label,
                lambda index: reserve_through_service(self.factory, kit[index % len(kit)]),
                rate=rate,
                warmup_s=self.args.warmup_s,
                seconds=self.args.measure_s,
            )
            notes = [f"FAIL {counted.error_count} reservations failed: {counted.errors}"] if counted.error_count else []
            outcome = await checks.check(
                self.db,
                self.factory,
                after=label,
                made=counted.completed,
                lines=len(kit[0].lots),
                quantity=kit[0].kit_quantity,
                records=True,
                notes=notes,
            )
            self.checks.append(outcome)
            run = latency_run("reserve a kit", name, result) | {
                "check_ok": outcome.ok,
                "load_average_1m": round(os.getloadavg()[0], 2),
            }
            runs.append(run)
            log(
                f"{label:<32} offered {rate:7.1f}/s  p50 {result.percentile_ms(50):7.2f} ms  "
                f"p99 {result.percentile_ms(99):8.2f} ms  check {'ok' if outcome.ok else 'FAILED'}"
            )
            if not outcome.ok:
                log(f"  correctness: {outcome.as_dict()}")
        return runs


async def _sessions_opened(connection: asyncpg.Connection) -> int:
    count: int = await connection.fetchval("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
    return count


async def run(args: argparse.Namespace) -> int:
    if os.getloadavg()[0] > 1.0:
        log(f"warning: load average {os.getloadavg()[0]:.2f} before the run: other work competes for the cores")
    db = await asyncpg.connect(args.dsn)
    # As the inventory worker builds its engine, with as many connections as the raw pool may grow to.
    engine = create_engine(args.database_url, pool_size=2 * args.pool_size, application_name="inventory-bench")
    factory = create_session_factory(engine)
    pool = await asyncpg.create_pool(args.dsn, min_size=args.pool_size, max_size=2 * args.pool_size)
    assert pool is not None
    try:
        recorded_versions = await versions.collect(db, REPO)
        log(f"set-up: {args.concurrency} kit clinics (6 items, 2 lots each) and one hot clinic")
        kit = await fixtures.kit_clinics(factory, args.concurrency)
        hot = await fixtures.hot_clinic(factory)
        bench = Bench(args, db, factory, pool)
        rows = await bench.rounds(kit, hot)
        latency = await bench.latency(kit, statistics.median(rows[0].subject_rates))
    finally:
        await pool.close()
        await engine.dispose()
        await db.close()
    report.write_json(
        args.out,
        {
            "versions": recorded_versions,
            "ratios": [row.as_dict() for row in rows],
            "latency": latency,
            "throughput_runs": bench.runs,
            "checks": [c.as_dict() for c in bench.checks],
            "setup": {
                "kit_clinics": len(kit),
                "kit_lines": [lot.__dict__ for lot in kit[0].lots],
                "hot_lot": hot.lots[0].__dict__,
                "concurrency": args.concurrency,
                "pool_size": args.pool_size,
            },
        },
    )
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description="I1, I2 and the reserve-a-kit latency (started by bench/inventory)")
    parser.add_argument("--dsn", required=True, help="libpq DSN of the benchmark's inventory database")
    parser.add_argument("--database-url", required=True, help="the same database as an SQLAlchemy asyncpg URL")
    parser.add_argument("--warmup-s", type=float, required=True)
    parser.add_argument("--measure-s", type=float, required=True)
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    sys.exit(uvloop.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
