"""The W1 run: the day's free times page through the gateway and the web service against the booking
API's availability call alone, interleaved (A B A B ...); open-loop latency of the page at 50% and 80%
of its measured maximum; the weight of the CSS and JavaScript the booking pages load; a correctness
check after every measurement.

Started by bench/web, which owns the processes (booking API, web service, gateway) and the databases,
and pins this process (and wrk, its child) to the load core.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
import uvloop

from booking_bench import checks as booking_checks
from booking_bench import fixtures, report, versions
from booking_bench.openloop import OpenLoopResult, scheduled
from booking_bench.stats import RatioRow, Target
from booking_bench.wrk import WrkLoad, WrkResult, run_wrk
from clinic_shared.gateway import nginx_binary
from web_bench import checks, cpu, page

REPO = Path(__file__).resolve().parents[2]
FORM_LUA = Path(__file__).resolve().parent / "form.lua"
SETTLE_S = 1.0  # after wrk hangs up, requests still in flight finish before the next measurement
MAX_SETTLE_S = 10.0
DAYS_SHOWN = 14  # web.service.booking_flow.DAYS_SHOWN: the page asks the API for this many days
SETUP_DAYS = 30  # days of the search clinic booked at set-up (two thirds of its rooms busy)

# PERFORMANCE.md: W1, and the latency row "the day's free times page, through the gateway".
W1_TARGET = Target(floor=0.40, goal=0.50)
LATENCY_PATH = "the day's free times page, through the gateway"
LATENCY_TARGET = (30.0, 100.0)  # p50, p99 ms at 50% of the measured maximum
WEIGHT_GOAL_BYTES = 60 * 1024  # CSS + JS of the booking pages, gzip, on the wire
EXTRA_PACKAGES = ("jinja2", "jinja2-fragments", "babel", "httpx", "python-multipart")


@dataclass(frozen=True)
class Config:
    mode: str
    measure_s: float
    warmup_s: float
    rounds: int
    gateway_url: str
    booking_url: str
    booking_dsn: str
    web_dsn: str
    admin_token: str
    results_dir: Path
    service_core: int
    load_core: int
    load: WrkLoad
    pids: dict[str, int]


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


class Bench:
    def __init__(
        self, config: Config, booking: asyncpg.Connection, web: asyncpg.Connection, choice: page.Choice,
        visitor: page.Visitor, baseline: checks.Counts,
    ) -> None:  # fmt: skip
        self.config = config
        self.booking = booking
        self.web = web
        self.choice = choice
        self.visitor = visitor
        self.baseline = baseline
        self.api_path = choice.availability_path(choice.day + timedelta(days=DAYS_SHOWN - 1))
        self.meter = cpu.Meter({name: [pid] for name, pid in config.pids.items()})
        self.runs: list[dict[str, Any]] = []
        self.checks: list[booking_checks.CheckResult] = []

    async def _backends(self) -> dict[str, list[int]]:
        """PostgreSQL's backends serving the two benchmark databases (not this process's own)."""
        pids = await self.booking.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = ANY($1::text[]) AND pid <> ALL($2::int[])",
            [self.booking_db, self.web_db],
            [self.booking.get_server_pid(), self.web.get_server_pid()],
        )
        return {"postgres": [row["pid"] for row in pids]}

    @property
    def booking_db(self) -> str:
        return self.config.booking_dsn.rsplit("/", 1)[1]

    @property
    def web_db(self) -> str:
        return self.config.web_dsn.rsplit("/", 1)[1]

    # --- closed-loop throughput -------------------------------------------------------------------

    async def _wrk(self, label: str, target: str, seconds: float) -> WrkResult:
        """`target`: "page" or "fragment" (through the gateway), "api" (the availability call), or
        "booking:<path>" (any other GET on the booking API)."""
        if target == "api" or target.startswith("booking:"):
            path = self.api_path if target == "api" else target.removeprefix("booking:")
            return await run_wrk(
                label=label, url=self.config.booking_url, script="get.lua", script_args=[path],
                seconds=seconds, load=self.config.load, expected_status=200, core=self.config.load_core,
            )  # fmt: skip
        args = [page.PAGE_PATH, self.visitor.form(self.choice), self.visitor.cookie, page.MARKER]
        args.append(page.FRAGMENT_TARGET if target == "fragment" else "")
        return await run_wrk(
            label=label, url=self.config.gateway_url, script=str(FORM_LUA), script_args=args, seconds=seconds,
            load=self.config.load, expected_status=200, core=self.config.load_core,
        )  # fmt: skip

    async def measure(self, label: str, target: str, *, seconds: float | None = None) -> WrkResult:
        """Warm up, then measure one path; CPU time of every process on the path around the measurement."""
        warm = await self._wrk(f"{label} (warm-up)", target, self.config.warmup_s if seconds is None else 1.0)
        # The requests wrk left in flight finish before the measurement starts; a page takes far
        # longer than an API call, so wait as long as the warm-up's slowest ones took.
        await asyncio.sleep(min(MAX_SETTLE_S, max(SETTLE_S, 2 * warm.p99_ms / 1000)))
        before = self.meter.read(await self._backends())
        result = await self._wrk(label, target, self.config.measure_s if seconds is None else seconds)
        after = self.meter.read(await self._backends())
        answered = max(1, result.requests)
        spent = cpu.used(before, after)
        result.extra["cpu_s"] = spent
        result.extra["cpu_ms_per_request"] = {name: round(1000 * s / answered, 3) for name, s in spent.items()}
        result.extra["target"] = target
        result.extra["load_average_1m"] = round(os.getloadavg()[0], 2)
        await asyncio.sleep(SETTLE_S)
        notes = []
        if result.unexpected:
            notes.append(f"FAIL {result.unexpected} answers other than 200: {result.statuses} {result.errors}")
        if result.requests == 0:
            notes.append("no answer within the measurement (a smoke run is too short for the page)")
        outcome = await checks.check(self.booking, self.web, after=label, baseline=self.baseline, notes=notes)
        self.checks.append(outcome)
        result.extra["check_ok"] = outcome.ok
        self.runs.append(result.as_dict())
        per = "  ".join(f"{name} {ms:.2f}" for name, ms in result.extra["cpu_ms_per_request"].items())
        log(
            f"{label:<28} {result.rate:>8,.1f}/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:7.2f} ms  "
            f"cpu ms/req: {per}  check {'ok' if outcome.ok else 'FAILED'}"
        )
        if not outcome.ok:
            log(f"  correctness: {outcome.as_dict()}")
        return result

    async def rounds(self) -> list[RatioRow]:
        w1 = RatioRow(
            id="W1",
            what="the day's free times page through the gateway and the web service",
            subject="POST /book/times via nginx -> web -> booking API (whole page)",
            baseline="GET /clinics/{id}/availability on the booking API, same query",
            target=W1_TARGET,
        )
        w1x = RatioRow(
            id="W1x",
            what="the same page as htmx asks for it (the #step block only)",
            subject="POST /book/times, HX-Request, HX-Target: step",
            baseline="GET /clinics/{id}/availability on the booking API, same query",
        )
        w1cpu = RatioRow(
            id="W1cpu",
            what="W1 by CPU time: requests per CPU second of gateway, web, booking API and PostgreSQL together",
            subject="the page (W1's measurement)",
            baseline="the availability call (W1's measurement)",
        )
        for number in range(1, self.config.rounds + 1):
            ours = await self.measure(f"W1 page r{number}", "page")
            api = await self.measure(f"W1 API alone r{number}", "api")
            fragment = await self.measure(f"W1x htmx fragment r{number}", "fragment")
            w1.subject_rates.append(ours.rate)
            w1.baseline_rates.append(api.rate)
            w1x.subject_rates.append(fragment.rate)
            w1x.baseline_rates.append(api.rate)
            # What other work on the machine moves least: the CPU time each request costs, not its rate.
            w1cpu.subject_rates.append(per_cpu_second(ours))
            w1cpu.baseline_rates.append(per_cpu_second(api))
        return [w1, w1x, w1cpu]

    async def breakdown(self) -> list[dict[str, Any]]:
        """The booking API's share of a page, call by call: the five GETs behind a page (`flow.offer`,
        whose four the web service keeps for WEB_REFERENCE_TTL_S, then `flow.times`, asked every time),
        each measured alone on the booking API like the baseline."""
        clinic = f"/clinics/{self.choice.clinic_id}"
        calls = {
            "clinic": clinic, "treatments": f"{clinic}/treatments", "practitioners": f"{clinic}/practitioners",
            "screening": f"{clinic}/screening", "availability": self.api_path,
        }  # fmt: skip
        found = []
        for name, path in calls.items():
            result = await self.measure(
                f"page's call: {name}", f"booking:{path}", seconds=max(2.0, self.config.measure_s / 3)
            )
            per = result.extra["cpu_ms_per_request"]
            found.append({
                "call": name, "path": path, "rate_per_s": round(result.rate, 1),
                "booking_api_cpu_ms": per.get("booking-api", 0.0), "postgres_cpu_ms": per.get("postgres", 0.0),
            })  # fmt: skip
        return found

    # --- open-loop latency ------------------------------------------------------------------------

    async def latency(self, load_name: str, rate: float) -> dict[str, Any]:
        body = self.visitor.form(self.choice).encode()
        headers = self.visitor.headers(fragment=False)
        connector = aiohttp.TCPConnector(limit=256)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(
            base_url=self.config.gateway_url, connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
        ) as session:

            async def send(_: int) -> str | None:
                try:
                    async with session.post(page.PAGE_PATH, data=body, headers=headers) as response:
                        text = await response.text()
                except (aiohttp.ClientError, TimeoutError):
                    return None
                if response.status == 200 and page.MARKER not in text:
                    return "200-unmarked"
                return str(response.status)

            result: OpenLoopResult = await scheduled(
                label=f"{LATENCY_PATH} @ {load_name}", call=send, rate=rate, warmup_s=self.config.warmup_s,
                seconds=self.config.measure_s, expected_status=200,
            )  # fmt: skip
        await asyncio.sleep(SETTLE_S)
        notes = []
        unexpected = result.sent - result.statuses.get("200", 0)
        if unexpected:
            notes.append(
                f"FAIL {unexpected} of {result.sent} answers were not 200 with the day's times: "
                f"{result.statuses}, {result.failures} failed"
            )
        outcome = await checks.check(self.booking, self.web, after=result.label, baseline=self.baseline, notes=notes)
        self.checks.append(outcome)
        run = {
            "path": LATENCY_PATH,
            "load": load_name,
            **result.as_dict(),
            "check_ok": outcome.ok,
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
        log(
            f"{result.label:<58} offered {rate:7.1f}/s  p50 {result.percentile_ms(50):7.2f} ms  "
            f"p99 {result.percentile_ms(99):8.2f} ms  check {'ok' if outcome.ok else 'FAILED'}"
        )
        return run


def per_cpu_second(result: WrkResult) -> float:
    """Requests per second of CPU time, all processes on the path counted (PostgreSQL's too)."""
    spent = sum(result.extra["cpu_ms_per_request"].values())
    return 1000 / spent if spent > 0 else 0.0


async def pick_day(client: httpx.AsyncClient, clinic: fixtures.BuiltClinic, first: date) -> tuple[date, dict[str, Any]]:
    """The first weekday from `first` with free times (the clinic is open on weekdays only)."""
    day = first
    for _ in range(14):
        if day.weekday() < 5:
            last = day + timedelta(days=DAYS_SHOWN - 1)
            path = page.Choice(clinic.clinic_id, clinic.treatment_id, ("face",), day).availability_path(last)
            answer = (await client.get(path)).raise_for_status().json()
            if page.starts_of_day(answer, day):
                return day, answer
        day += timedelta(days=1)
    raise RuntimeError("the search clinic has no free time on any weekday of two weeks")


async def times_agree(
    gateway: httpx.AsyncClient, booking: httpx.AsyncClient, bench_choice: page.Choice, visitor: page.Visitor,
    api_path: str,
) -> list[str]:  # fmt: skip
    """The page and its htmx block offer exactly the API's free starts of the day, and some."""
    answer = (await booking.get(api_path)).raise_for_status().json()
    expected = page.starts_of_day(answer, bench_choice.day)
    notes = []
    for fragment in (False, True):
        response = await page.fetch_page(gateway, visitor, bench_choice, fragment=fragment)
        shown = page.starts_shown(response.text)
        name = "htmx block" if fragment else "page"
        ok = response.status_code == 200 and shown == expected and bool(expected)
        notes.append(
            ("" if ok else "FAIL ")
            + f"{name} {response.status_code}, {len(response.content):,} bytes: offers {len(shown)} starts on "
            f"{bench_choice.day}, the API {len(expected)}"
        )
    return notes


def latency_table(latency: list[dict[str, Any]]) -> str:
    lines = [
        "| path | load | offered /s | achieved /s | p50 ms | p99 ms | p99.9 ms | max ms | target p50 / p99 "
        "| verdict | gen. lag p99 ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    for run in latency:
        p50, p99 = run["latency_ms"]["p50"], run["latency_ms"]["p99"]
        verdict = "meets" if p50 <= LATENCY_TARGET[0] and p99 <= LATENCY_TARGET[1] else "MISSES"
        if run["load"] != "50%":
            verdict += " (informational)"
        lines.append(
            f"| {run['path']} | {run['load']} of max | {run['target_rate_per_s']:,.1f} "
            f"| {run['achieved_rate_per_s']:,.1f} | {p50:.2f} | {p99:.2f} | {run['latency_ms']['p99.9']:.2f} "
            f"| {run['latency_ms']['p100']:.2f} | <= {LATENCY_TARGET[0]:g} / <= {LATENCY_TARGET[1]:g} | {verdict} "
            f"| {run['send_lag_ms']['p99']:.2f} |"
        )
    return "\n".join(lines)


def cpu_table(runs: list[dict[str, Any]]) -> str:
    """Median CPU milliseconds per request, per process, for each kind of measurement."""
    kinds = {"page": "page through the gateway", "fragment": "htmx block through the gateway", "api": "API alone"}
    names = ["gateway", "web-api", "booking-api", "postgres"]
    lines = [
        "| measured | " + " | ".join(names) + " | total |",
        "| --- | " + " | ".join("---:" for _ in names) + " | ---: |",
    ]
    for kind, title in kinds.items():
        mine = [run for run in runs if run.get("target") == kind and "warm-up" not in run["label"]]
        if not mine:
            continue
        medians = [statistics.median(run["cpu_ms_per_request"].get(name, 0.0) for run in mine) for name in names]
        lines.append(f"| {title} | " + " | ".join(f"{m:.2f}" for m in medians) + f" | {sum(medians):.2f} |")
    return "\n".join(lines)


def breakdown_table(calls: list[dict[str, Any]], runs: list[dict[str, Any]]) -> str:
    lines = [
        "| the page's call to the booking API, alone | rate /s | booking-api CPU ms | postgres CPU ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    for call in calls:
        lines.append(
            f"| {call['call']} | {call['rate_per_s']:,.1f} | {call['booking_api_cpu_ms']:.2f} "
            f"| {call['postgres_cpu_ms']:.2f} |"
        )
    pages = [run for run in runs if run.get("target") == "page"]
    if calls and pages:
        alone = sum(call["booking_api_cpu_ms"] for call in calls)
        in_page = statistics.median(run["cpu_ms_per_request"].get("booking-api", 0.0) for run in pages)
        lines.append(
            f"| **the five, summed** (booking-api per page, measured: {in_page:.2f}; the first four are kept by "
            f"the web service for WEB_REFERENCE_TTL_S) | | **{alone:.2f}** | |"
        )
    return "\n".join(lines)


def weight_table(weight: dict[str, Any]) -> str:
    lines = ["| file | kind | encoding | on the wire | uncompressed |", "| --- | --- | --- | ---: | ---: |"]
    for f in [*weight["files"], *weight["documents"]]:
        lines.append(
            f"| {f['url'].split('?')[0]} | {f['kind']} | {f['content_encoding']} | {f['wire_bytes']:,} "
            f"| {f['uncompressed_bytes']:,} |"
        )
    total, raw = weight["css_js_gzip_bytes"], weight["css_js_uncompressed_bytes"]
    verdict = "meets" if total <= WEIGHT_GOAL_BYTES and weight["all_gzip"] else "MISSES"
    lines.append(f"| **CSS + JS** | | | **{total:,}** ({total / 1024:.1f} KB) | {raw:,} ({raw / 1024:.1f} KB) |")
    lines.append("")
    lines.append(f"page weight goal <= {WEIGHT_GOAL_BYTES // 1024} KB gzip: {verdict}")
    return "\n".join(lines)


def more_versions() -> dict[str, Any]:
    def package(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    nginx = subprocess.run([nginx_binary(), "-v"], capture_output=True, text=True, check=False)  # noqa: S603
    return {"nginx": (nginx.stderr or nginx.stdout).strip(), **{name: package(name) for name in EXTRA_PACKAGES}}


async def run(config: Config) -> int:  # noqa: PLR0915 - one run, read top to bottom
    started = time.monotonic()
    if os.getloadavg()[0] > 1.0:
        log(f"warning: load average {os.getloadavg()[0]:.2f} before the run: other work competes for the cores")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    booking_db = await asyncpg.connect(config.booking_dsn)
    web_db = await asyncpg.connect(config.web_dsn)
    try:
        recorded = await versions.collect(booking_db, REPO)
        recorded["packages"] |= more_versions()
        recorded["rabbitmq"] = "not used (booking API and web service only; nothing relays the outbox)"
        log(f"set-up through the booking API at {config.booking_url}")
        async with (
            httpx.AsyncClient(base_url=config.booking_url, timeout=30) as booking,
            httpx.AsyncClient(base_url=config.gateway_url, timeout=30) as gateway,
        ):
            search = await fixtures.build_search_clinic(fixtures.Api(booking, config.admin_token), days=SETUP_DAYS)
            clinic = search.clinic
            day, answer = await pick_day(booking, clinic, search.first_day)
            choice = page.Choice(clinic.clinic_id, clinic.treatment_id, ("face",), day)
            log(
                f"search clinic: {search.booked} visits booked over {SETUP_DAYS} days; the page shows {day} "
                f"({len(page.starts_of_day(answer, day))} free starts that day, {len(answer['slots'])} in 14 days)"
            )
            visitor, clinic_page = await page.open_session(gateway, clinic.clinic_id)
            weight = await page.weight(gateway, visitor, choice, clinic_page)
            await booking_checks.compact(booking_db)
            baseline = await checks.counts(booking_db, web_db)
            bench = Bench(config, booking_db, web_db, choice, visitor, baseline)
            start_notes = await times_agree(gateway, booking, choice, visitor, bench.api_path)
            bench.checks.append(
                await checks.check(booking_db, web_db, after="set-up", baseline=baseline, notes=start_notes)
            )
            for note in start_notes:
                log(f"  {note}")

            rows = await bench.rounds()
            page_max = statistics.median(rows[0].subject_rates)
            latency = [
                await bench.latency(name, max(1.0, share * page_max)) for share, name in ((0.5, "50%"), (0.8, "80%"))
            ]
            calls = await bench.breakdown()
            end_notes = await times_agree(gateway, booking, choice, visitor, bench.api_path)
            bench.checks.append(
                await checks.check(booking_db, web_db, after="end of run", baseline=baseline, notes=end_notes)
            )
    finally:
        await booking_db.close()
        await web_db.close()

    all_ok = all(c.ok for c in bench.checks)
    gated_accepted = all(row.accepted for row in rows if row.target is not None)
    elapsed = time.monotonic() - started
    title = (
        f"web bench (W1) {stamp} ({config.mode}: {config.measure_s:g} s x {config.rounds} rounds); "
        f"PostgreSQL {recorded['postgresql'].split()[1]}, Python {recorded['python']}, "
        f"uvloop {recorded['packages']['uvloop']}, {recorded['packages']['nginx']}"
    )
    result = {
        "started_at": stamp,
        "elapsed_s": round(elapsed, 1),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items() if k != "admin_token"},
        "placement": {
            "service_core": config.service_core,
            "load_core": config.load_core,
            "note": "booking-api, web-api and the nginx gateway pinned to service_core; wrk and the open-loop "
            "generator to load_core; PostgreSQL unpinned (it shares both cores)",
        },
        "versions": recorded,
        "setup": {
            "clinic_id": choice.clinic_id,
            "treatment_id": choice.treatment_id,
            "areas": list(choice.areas),
            "day": str(choice.day),
            "visits_booked": search.booked,
            "page": f"POST {page.PAGE_PATH} ({visitor.form(choice).replace(visitor.csrf, '<csrf>')})",
            "api": bench.api_path,
        },
        "ratios": [row.as_dict() for row in rows],
        "latency": latency,
        "latency_target_ms": {"p50": LATENCY_TARGET[0], "p99": LATENCY_TARGET[1]},
        "page_weight": {**weight, "goal_gzip_bytes": WEIGHT_GOAL_BYTES},
        "page_calls_alone": calls,
        "throughput_runs": bench.runs,
        "load_average_at_end": os.getloadavg(),
        "checks": [c.as_dict() for c in bench.checks],
        "correct": all_ok,
        "accepted": gated_accepted and all_ok,
    }
    json_path = config.results_dir / f"web-{stamp}.json"
    report.write_json(json_path, result)
    report.plot(json_path.with_suffix(".png"), rows, latency, title)

    print()
    print(title)
    print()
    print(report.ratio_table(rows))
    print()
    print(latency_table(latency))
    print()
    print("CPU milliseconds per request (median of the rounds; PostgreSQL: the backends of both databases)")
    print()
    print(cpu_table(bench.runs))
    print()
    print(breakdown_table(calls, bench.runs))
    print()
    print(weight_table(weight))
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
        print("run REJECTED: W1's ratios spread more than 10% (PERFORMANCE.md); run again on a quieter machine")
        return 3
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description="the W1 benchmark (started by bench/web)")
    parser.add_argument("--mode", choices=("quick", "full", "smoke"), default="quick")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gateway-url", required=True)
    parser.add_argument("--booking-url", required=True)
    parser.add_argument("--booking-dsn", required=True)
    parser.add_argument("--web-dsn", required=True)
    parser.add_argument("--admin-token-file", type=Path, required=True)
    parser.add_argument("--results-dir", type=Path, required=True)
    parser.add_argument("--service-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    # 8, not bench/run's 32: each page in flight holds a request in nginx, the web service and booking at
    # once on one core, so 32 wait seconds each (wrk's 10 s time-out was reached when a page made five
    # calls one after the other); 8 keep the core as busy.
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--pid", action="append", default=[], metavar="NAME=PID", help="a process on the path")
    args = parser.parse_args()
    full, smoke = args.mode == "full", args.mode == "smoke"
    config = Config(
        mode=args.mode,
        measure_s=60.0 if full else 2.0 if smoke else 15.0,
        warmup_s=10.0 if full else 1.0 if smoke else 5.0,
        rounds=2 if smoke else args.rounds,
        gateway_url=args.gateway_url,
        booking_url=args.booking_url,
        booking_dsn=args.booking_dsn,
        web_dsn=args.web_dsn,
        admin_token=args.admin_token_file.read_text().strip(),
        results_dir=args.results_dir,
        service_core=args.service_core,
        load_core=args.load_core,
        load=WrkLoad(connections=args.connections),
        pids={name: int(pid) for name, pid in (item.split("=", 1) for item in args.pid)},
    )
    sys.exit(uvloop.run(run(config)))


if __name__ == "__main__":
    main()
