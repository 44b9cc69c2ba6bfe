"""The booking benchmark run: set-up through the API, interleaved throughput rounds (A B A B A B),
open-loop latency at 50% and 80% of the measured maximum, a correctness check after every run.

Started by bench/run, which owns the processes (database, service, raw baseline) and pins this
process (and wrk, its child) to the load core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvloop

from booking_bench import checks, report, versions
from booking_bench.fixtures import BenchData, build_all
from booking_bench.openloop import OpenLoopResult, Request, open_loop
from booking_bench.slots import Mode, write_lua_data
from booking_bench.stats import RATIO_TARGETS, RatioRow
from booking_bench.wrk import WrkLoad, WrkResult, run_wrk

REPO = Path(__file__).resolve().parents[2]
# After wrk hangs up, the service still finishes the requests that were in flight (up to one per
# connection); the next measurement starts once they are done, not queued behind them.
SETTLE_S = 1.0


@dataclass(frozen=True)
class Config:
    mode: str
    measure_s: float
    warmup_s: float
    rounds: int
    extras: bool
    app_url: str
    raw_url: str
    dsn: str
    admin_token: str
    results_dir: Path
    work_dir: Path
    service_core: int
    load_core: int
    load: WrkLoad
    grid_clinics: int
    grid_triples: int
    grid_days: int
    pool_size: int


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


class Bench:
    def __init__(self, config: Config, data: BenchData, db: asyncpg.Connection, lua_data: Path) -> None:
        self.config = config
        self.data = data
        self.db = db
        self.lua_data = lua_data
        self.runs: list[dict[str, Any]] = []
        self.checks: list[checks.CheckResult] = []
        search = data.search
        first: date = search.first_day
        c, t, p = search.clinic.clinic_id, search.clinic.treatment_id, search.clinic.practitioner_ids[0]
        self.search_practitioner = p
        last14, last90 = first + timedelta(days=13), first + timedelta(days=89)
        self.path_1x14 = (
            f"/clinics/{c}/availability?treatment_id={t}&areas=face&from={first}&to={last14}&practitioner_id={p}"
        )
        self.path_5x90 = f"/clinics/{c}/availability?treatment_id={t}&areas=face&from={first}&to={last90}"
        self.path_raw_busy = f"/raw/busy?clinic_id={c}&practitioner_id={p}&from={first}&to={last14}"
        self.path_raw_calendar = (
            f"/raw/calendar?clinic_id={c}&treatment_id={t}&from={first}&to={last14}&practitioner_id={p}"
        )
        self.grid_clinic_ids = [clinic.clinic_id for clinic in data.grid.clinics]
        assert data.grid.refused_clinic is not None
        self.refused_clinic_id = data.grid.refused_clinic.clinic_id

    # --- closed-loop throughput -------------------------------------------------------------------

    async def _wrk(
        self, label: str, base_url: str, script: str, args: list[str], seconds: float, expected: int
    ) -> WrkResult:
        sessions_before = await checks.sessions_opened(self.db)
        result = await run_wrk(
            label=label,
            url=base_url,
            script=script,
            script_args=args,
            seconds=seconds,
            load=self.config.load,
            expected_status=expected,
            core=self.config.load_core,
        )
        # Database connections opened meanwhile: a pool that closes and reopens connections under
        # load (SQLAlchemy's overflow) pays connection set-up inside the measurement.
        result.extra["db_sessions_opened"] = await checks.sessions_opened(self.db) - sessions_before
        return result

    async def get_rate(self, label: str, base_url: str, path: str) -> WrkResult:
        """Warm up, then measure one GET path; the data do not change, so the check is cheap."""
        await self._wrk(f"{label} (warm-up)", base_url, "get.lua", [path], self.config.warmup_s, 200)
        await asyncio.sleep(SETTLE_S)
        result = await self._wrk(label, base_url, "get.lua", [path], self.config.measure_s, 200)
        notes = (
            []
            if result.unexpected == 0
            else [f"FAIL {result.unexpected} answers other than 200: {result.statuses} {result.errors}"]
        )
        await self._checked(result, notes)
        return result

    async def booking_rate(self, label: str, base_url: str, path: str, mode: Mode, expected: int) -> WrkResult:
        """Reset the grid (so every measurement starts from the same tables), warm up, measure; then
        check that exactly the answered successes were written, and nothing more than in flight."""
        threads = str(self.config.load.threads)
        # Refused bookings write nothing, but they read the calendar, whose cost depends on the whole
        # appointments table (docs/benchmarks.md): they too start from the reset tables.
        await checks.reset_grid(self.db, self.grid_clinic_ids)
        patients_before = await checks.count_patients(self.db)
        refused_before = await checks.count_appointments(self.db, [self.refused_clinic_id])
        warm = await self._wrk(
            f"{label} (warm-up)",
            base_url,
            "booking.lua",
            [str(self.lua_data), mode, "0", path, threads],
            self.config.warmup_s,
            expected,
        )
        await asyncio.sleep(SETTLE_S)
        result = await self._wrk(
            label,
            base_url,
            "booking.lua",
            [str(self.lua_data), mode, str(warm.next_k), path, threads],
            self.config.measure_s,
            expected,
        )
        if result.next_k >= self.data.grid.capacity * 0.9:
            raise RuntimeError(
                f"{label}: used {result.next_k} of {self.data.grid.capacity} grid cells; enlarge the grid"
            )
        await asyncio.sleep(SETTLE_S)  # requests still in flight when wrk hung up finish and commit
        notes = []
        if result.unexpected:
            notes.append(f"FAIL {result.unexpected} answers other than {expected}: {result.statuses} {result.errors}")
        if mode == "refused":
            patients_after = await checks.count_patients(self.db)
            refused_after = await checks.count_appointments(self.db, [self.refused_clinic_id])
            if (patients_after, refused_after) != (patients_before, refused_before):
                notes.append(
                    f"FAIL refused bookings wrote rows: patients {patients_before}->{patients_after}, "
                    f"visits {refused_before}->{refused_after}"
                )
            else:
                notes.append("refused bookings left patients and visits unchanged")
        else:
            rows = await checks.count_appointments(self.db, self.grid_clinic_ids)
            answered = warm.good + result.good
            in_flight = 2 * self.config.load.connections
            if not answered <= rows <= answered + in_flight:
                notes.append(
                    f"FAIL {rows} visits stored for {answered} answered 201 "
                    f"(at most {in_flight} more may be unanswered)"
                )
            else:
                notes.append(f"{rows} visits stored for {answered} answered 201")
            result.extra["rows_stored"] = rows
        await self._checked(result, notes)
        return result

    async def _checked(self, result: WrkResult, notes: list[str]) -> None:
        # Load average right after the measurement: other work on the machine shows up here first.
        result.extra["load_average_1m"] = round(os.getloadavg()[0], 2)
        outcome = await checks.check(self.db, after=result.label, notes=notes)
        self.checks.append(outcome)
        result.extra["check_ok"] = outcome.ok
        self.runs.append(result.as_dict())
        log(
            f"{result.label:<40} {result.rate:>9,.1f}/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:7.2f} ms  "
            f"db conns +{result.extra.get('db_sessions_opened', 0)}  check {'ok' if outcome.ok else 'FAILED'}"
        )
        if not outcome.ok:
            log(f"  correctness: {outcome.as_dict()}")

    async def search_rounds(self) -> list[RatioRow]:
        cfg = self.config
        s1 = RatioRow(
            id="S1",
            what="availability search, 1 practitioner x 14 days",
            subject="GET /clinics/{id}/availability",
            baseline="raw ASGI + one asyncpg fetch of the busy intervals",
            target=RATIO_TARGETS["S1"],
        )
        s1x = RatioRow(
            id="S1x",
            what="the same search vs the service's own calendar statement",
            subject="GET /clinics/{id}/availability",
            baseline="raw ASGI + asyncpg running adapters/calendar.py's SQL",
        )
        for round_number in range(1, cfg.rounds + 1):
            app = await self.get_rate(f"S1 service r{round_number}", cfg.app_url, self.path_1x14)
            raw = await self.get_rate(f"S1 raw busy fetch r{round_number}", cfg.raw_url, self.path_raw_busy)
            s1.subject_rates.append(app.rate)
            s1.baseline_rates.append(raw.rate)
            if cfg.extras:
                calendar = await self.get_rate(
                    f"S1x raw calendar SQL r{round_number}", cfg.raw_url, self.path_raw_calendar
                )
                s1x.subject_rates.append(app.rate)
                s1x.baseline_rates.append(calendar.rate)
        return [s1, s1x] if cfg.extras else [s1]

    async def booking_rounds(self) -> list[RatioRow]:
        cfg = self.config
        b1 = RatioRow(
            id="B1",
            what="book a visit, saturated",
            subject="POST /appointments (201)",
            baseline="raw ASGI + asyncpg: patient + appointment + outbox row, one transaction",
            target=RATIO_TARGETS["B1"],
        )
        b2 = RatioRow(
            id="B2",
            what="a refused double booking",
            subject="POST /appointments (409)",
            baseline="B1's success rate (same round)",
            target=RATIO_TARGETS["B2"],
        )
        b1x = RatioRow(
            id="B1x",
            what="book a visit vs a raw transaction that also reads the calendar",
            subject="POST /appointments (201)",
            baseline="raw /raw/book-read: calendar SQL + the same three inserts",
        )
        for round_number in range(1, cfg.rounds + 1):
            app = await self.booking_rate(f"B1 service r{round_number}", cfg.app_url, "/appointments", "app", 201)
            raw = await self.booking_rate(f"B1 raw transaction r{round_number}", cfg.raw_url, "/raw/book", "raw", 201)
            refused = await self.booking_rate(
                f"B2 service 409 r{round_number}", cfg.app_url, "/appointments", "refused", 409
            )
            b1.subject_rates.append(app.rate)
            b1.baseline_rates.append(raw.rate)
            b2.subject_rates.append(refused.rate)
            b2.baseline_rates.append(app.rate)
            if cfg.extras:
                read = await self.booking_rate(
                    f"B1x raw read+transaction r{round_number}", cfg.raw_url, "/raw/book-read", "raw", 201
                )
                b1x.subject_rates.append(app.rate)
                b1x.baseline_rates.append(read.rate)
        return [b1, b2, b1x] if cfg.extras else [b1, b2]

    # --- open-loop latency ------------------------------------------------------------------------

    async def latency(self, path_name: str, load_name: str, rate: float, make_request: Callable[[int], Request],
                      expected: int, books: bool) -> dict[str, Any]:  # fmt: skip
        # Searches too: their calendar statement scans the whole appointments table.
        await checks.reset_grid(self.db, self.grid_clinic_ids)
        result: OpenLoopResult = await open_loop(
            label=f"{path_name} @ {load_name}",
            base_url=self.config.app_url,
            make_request=make_request,
            rate=rate,
            warmup_s=self.config.warmup_s,
            seconds=self.config.measure_s,
            expected_status=expected,
        )
        notes = []
        unexpected = result.sent - result.statuses.get(str(expected), 0)
        if unexpected:
            notes.append(
                f"FAIL {unexpected} of {result.sent} answers were not {expected}: "
                f"{result.statuses}, {result.failures} failed"
            )
        if books:
            rows = await checks.count_appointments(self.db, self.grid_clinic_ids)
            answered = result.statuses.get("201", 0) + result.warmup_statuses.get("201", 0)
            # Every request was awaited, so stored and answered must match exactly.
            notes.append(("" if rows == answered else "FAIL ") + f"{rows} visits stored for {answered} answered 201")
        outcome = await checks.check(self.db, after=result.label, notes=notes)
        self.checks.append(outcome)
        run = {
            "path": path_name,
            "load": load_name,
            **result.as_dict(),
            "check_ok": outcome.ok,
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
        log(
            f"{result.label:<52} offered {rate:7.1f}/s  p50 {result.percentile_ms(50):7.2f} ms  "
            f"p99 {result.percentile_ms(99):8.2f} ms  check {'ok' if outcome.ok else 'FAILED'}"
        )
        if not outcome.ok:
            log(f"  correctness: {outcome.as_dict()}")
        return run

    async def latency_rows(self, max_1x14: float, max_5x90: float, max_book: float) -> list[dict[str, Any]]:
        grid = self.data.grid

        def get(path: str) -> Callable[[int], Request]:
            return lambda _: ("GET", path, None)

        def book(index: int) -> Request:
            return "POST", "/appointments", json.dumps(grid.body("app", index), separators=(",", ":")).encode()

        runs = []
        for share, name in ((0.5, "50%"), (0.8, "80%")):
            runs.append(
                await self.latency(
                    "availability, 1 practitioner x 14 days", name, share * max_1x14, get(self.path_1x14), 200, False
                )
            )
            runs.append(
                await self.latency(
                    "availability, 5 practitioners x 90 days", name, share * max_5x90, get(self.path_5x90), 200, False
                )
            )
            runs.append(await self.latency("book a visit", name, share * max_book, book, 201, True))
        return runs


async def availability_is_consistent(config: Config, bench: Bench) -> list[str]:
    """One search answer checked against the raw busy intervals: the practitioner is never offered
    at a time when one of their visits holds them."""
    async with httpx.AsyncClient(timeout=30) as client:
        slots = (await client.get(config.app_url + bench.path_1x14)).json()["slots"]
        busy = (await client.get(config.raw_url + bench.path_raw_busy + "&full=1")).json()["busy"]
    mine = [
        (datetime.fromisoformat(b[4]), datetime.fromisoformat(b[5])) for b in busy if b[0] == bench.search_practitioner
    ]
    clashes = 0
    for slot in slots:
        start = datetime.fromisoformat(slot["starts_at"]) + timedelta(minutes=30)  # numbing first
        end = start + timedelta(minutes=30)
        clashes += any(s < end and start < e for s, e in mine)
    verdict = "FAIL " if clashes or not slots or not mine else ""
    return [
        f"{verdict}search offers {len(slots)} starts, {clashes} clash with {len(mine)} busy periods of the practitioner"
    ]


async def run(config: Config) -> int:
    started = time.monotonic()
    if os.getloadavg()[0] > 1.0:
        log(f"warning: load average {os.getloadavg()[0]:.2f} before the run: other work competes for the cores")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    db = await asyncpg.connect(config.dsn)
    try:
        recorded_versions = await versions.collect(db, REPO)
        log(f"set-up through the API at {config.app_url}")
        data = await build_all(
            config.app_url,
            config.admin_token,
            clinics=config.grid_clinics,
            triples=config.grid_triples,
            days=config.grid_days,
        )
        lua_data = write_lua_data(data.grid, config.work_dir / "grid.lua")
        log(f"search clinic: {data.search.booked} visits booked; booking grid: {data.grid.capacity:,} free cells")
        bench = Bench(config, data, db, lua_data)
        await checks.compact(db)
        bench.checks.append(
            await checks.check(db, after="set-up", notes=await availability_is_consistent(config, bench))
        )

        search_rows = await bench.search_rounds()
        ceiling_5x90 = await bench.get_rate("availability 5x90 ceiling (service)", config.app_url, bench.path_5x90)
        booking_rows = await bench.booking_rounds()
        rows = [*search_rows, *booking_rows]

        max_1x14 = statistics.median(search_rows[0].subject_rates)
        max_book = statistics.median(booking_rows[0].subject_rates)
        # A floor of 1/s keeps a smoke run (too short to finish a slow search) from dividing by zero.
        latency = await bench.latency_rows(max(1.0, max_1x14), max(1.0, ceiling_5x90.rate), max(1.0, max_book))
        bench.checks.append(
            await checks.check(db, after="end of run", notes=await availability_is_consistent(config, bench))
        )
    finally:
        await db.close()

    all_ok = all(c.ok for c in bench.checks)
    gated_accepted = all(row.accepted for row in rows if row.target is not None)
    elapsed = time.monotonic() - started
    title = (
        f"booking bench {stamp} ({config.mode}: {config.measure_s:g} s x {config.rounds} rounds); "
        f"PostgreSQL {recorded_versions['postgresql'].split()[1]}, Python {recorded_versions['python']}, "
        f"uvloop {recorded_versions['packages']['uvloop']}"
    )
    result = {
        "started_at": stamp,
        "elapsed_s": round(elapsed, 1),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items() if k != "admin_token"},
        "placement": {
            "service_core": config.service_core,
            "load_core": config.load_core,
            "note": "service and raw baseline pinned to service_core; wrk and the open-loop generator to load_core; "
            "PostgreSQL unpinned (it shares both cores)",
        },
        "versions": recorded_versions,
        "setup": {
            "search_visits_booked": data.search.booked,
            "grid": data.grid.to_json(),
            "grid_capacity": data.grid.capacity,
        },
        "ratios": [row.as_dict() for row in rows],
        "ceilings": {"availability_5x90_per_s": round(ceiling_5x90.rate, 1)},
        "latency": latency,
        "throughput_runs": bench.runs,
        "load_average_at_end": os.getloadavg(),
        "checks": [c.as_dict() for c in bench.checks],
        "correct": all_ok,
        "accepted": gated_accepted and all_ok,
    }
    json_path = config.results_dir / f"{stamp}.json"
    report.write_json(json_path, result)
    report.plot(config.results_dir / f"{stamp}.png", rows, latency, title)

    print()
    print(title)
    print()
    print(report.ratio_table(rows))
    print()
    print(report.latency_table(latency))
    print()
    failed = [c for c in bench.checks if not c.ok]
    print(
        f"correctness: {len(bench.checks)} checks, {len(failed)} failed"
        + "".join(f"\n  FAILED after {c.after}: {c.as_dict()}" for c in failed)
    )
    print(f"results: {json_path} and {json_path.with_suffix('.png')}  ({elapsed / 60:.1f} min)")
    if not all_ok:
        return 1
    if not gated_accepted:
        print(
            "run REJECTED: a gated row's ratios spread more than 10% (PERFORMANCE.md); run again on a quieter machine"
        )
        return 3
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description="booking benchmarks (started by bench/run)")
    parser.add_argument("--mode", choices=("quick", "full", "smoke"), default="quick")
    parser.add_argument("--extras", action="store_true", help="also the informational rows S1x and B1x")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--app-url", required=True)
    parser.add_argument("--raw-url", required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--admin-token-file", type=Path, required=True)
    parser.add_argument("--results-dir", type=Path, required=True)
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--service-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pool-size", type=int, default=10)
    args = parser.parse_args()
    full, smoke = args.mode == "full", args.mode == "smoke"
    config = Config(
        mode=args.mode,
        measure_s=60.0 if full else 2.0 if smoke else 15.0,
        warmup_s=10.0 if full else 1.0 if smoke else 5.0,
        rounds=2 if smoke else args.rounds,
        extras=args.extras,
        app_url=args.app_url,
        raw_url=args.raw_url,
        dsn=args.dsn,
        admin_token=args.admin_token_file.read_text().strip(),
        results_dir=args.results_dir,
        work_dir=args.work_dir,
        service_core=args.service_core,
        load_core=args.load_core,
        load=WrkLoad(connections=args.connections),
        # Enough free cells for the fastest path (the raw transaction) over warm-up + measurement.
        grid_clinics=6 if full else 2,
        grid_triples=10,
        grid_days=700,
        pool_size=args.pool_size,
    )
    sys.exit(uvloop.run(run(config)))


if __name__ == "__main__":
    main()
