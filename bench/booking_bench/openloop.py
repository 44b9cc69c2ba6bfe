"""Open-loop latency: requests leave on a fixed schedule whatever the service does, and each one is
timed from its INTENDED send time, into an HDR histogram.

A closed-loop tool waits for an answer before it sends the next request, so when the service
stalls it stops sending and the stall shows up as one slow request instead of the many a real
stream of patients would have queued behind it (coordinated omission). Here request i is due at
t0 + i / rate; if the generator or a connection is late, the lateness counts as latency.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

# Microseconds, from 1 us to 2 minutes, 3 significant digits.
LOWEST_US, HIGHEST_US, DIGITS = 1, 120_000_000, 3
PERCENTILES = (50.0, 90.0, 99.0, 99.9, 100.0)

# A request: method, path, JSON body bytes or None.
Request = tuple[str, str, bytes | None]


@dataclass
class OpenLoopResult:
    label: str
    target_rate: float
    seconds: float
    sent: int
    statuses: dict[str, int]
    warmup_statuses: dict[str, int]  # answers to requests due during warm-up (not in the histogram)
    failures: int  # transport errors and time-outs
    histogram: HdrHistogram  # latency from intended send time, us
    send_lag: HdrHistogram  # how late the generator itself sent, us (should stay small)
    expected_status: int | str

    @property
    def achieved_rate(self) -> float:
        return self.statuses.get(str(self.expected_status), 0) / self.seconds

    def percentile_ms(self, p: float) -> float:
        return float(self.histogram.get_value_at_percentile(p)) / 1000

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "target_rate_per_s": round(self.target_rate, 1),
            "achieved_rate_per_s": round(self.achieved_rate, 1),
            "seconds": round(self.seconds, 3),
            "sent": self.sent,
            "statuses": self.statuses,
            "warmup_statuses": self.warmup_statuses,
            "failures": self.failures,
            "expected_status": self.expected_status,
            "latency_ms": {f"p{p:g}": self.percentile_ms(p) for p in PERCENTILES},
            "send_lag_ms": {
                f"p{p:g}": float(self.send_lag.get_value_at_percentile(p)) / 1000 for p in (50.0, 99.0, 100.0)
            },
            # Compressed HDR histogram (base64), for re-analysis with any HdrHistogram library.
            "hdr": self.histogram.encode().decode(),
            "distribution": [
                [p, float(self.histogram.get_value_at_percentile(p)) / 1000]
                for p in (0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100)
            ],
        }


class _Recorder:
    """Where the answers go: the histograms for requests due after warm-up, counts for the rest."""

    def __init__(self, measure_from: float) -> None:
        self.measure_from = measure_from
        self.histogram = HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)
        self.send_lag = HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)
        self.statuses: Counter[str] = Counter()
        self.warmup_statuses: Counter[str] = Counter()
        self.failures = 0

    def sent(self, due: float, now: float) -> None:
        if due >= self.measure_from:
            self.send_lag.record_value(max(LOWEST_US, int((now - due) * 1e6)))

    def answered(self, due: float, now: float, status: str | None) -> None:
        if due < self.measure_from:
            if status is not None:
                self.warmup_statuses[status] += 1
            return
        # Latency is from when the request was due, not from when it actually left.
        self.histogram.record_value(min(HIGHEST_US, max(LOWEST_US, int((now - due) * 1e6))))
        if status is None:
            self.failures += 1
        else:
            self.statuses[status] += 1


async def open_loop(
    *,
    label: str,
    base_url: str,
    make_request: Callable[[int], Request],
    rate: float,
    warmup_s: float,
    seconds: float,
    expected_status: int,
    max_connections: int = 256,
    timeout_s: float = 30.0,
) -> OpenLoopResult:
    """Send `rate` requests per second for `warmup_s + seconds`; record only those due after warm-up."""
    connector = aiohttp.TCPConnector(limit=max_connections)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    headers = {"Content-Type": "application/json"}

    async with aiohttp.ClientSession(base_url=base_url, connector=connector, timeout=timeout) as session:

        async def send(index: int) -> str | None:
            method, path, body = make_request(index)
            try:
                async with session.request(method, path, data=body, headers=headers) as response:
                    await response.read()
                    return str(response.status)
            except (aiohttp.ClientError, TimeoutError):
                return None

        return await scheduled(
            label=label,
            call=send,
            rate=rate,
            warmup_s=warmup_s,
            seconds=seconds,
            expected_status=expected_status,
            timeout_s=timeout_s,
        )


async def scheduled(
    *,
    label: str,
    call: Callable[[int], Awaitable[str | None]],
    rate: float,
    warmup_s: float,
    seconds: float,
    expected_status: int | str,
    timeout_s: float = 30.0,
) -> OpenLoopResult:
    """Start call i at t0 + i / rate, whatever the earlier calls do; `call` answers a status (None: it
    failed). HTTP above; the inventory benchmark calls a handler in-process."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    recorder = _Recorder(measure_from=start + warmup_s)
    end = recorder.measure_from + seconds
    interval = 1.0 / rate

    async def fire(index: int, due: float) -> None:
        recorder.sent(due, loop.time())
        status = await call(index)
        recorder.answered(due, loop.time(), status)

    tasks: set[asyncio.Task[None]] = set()
    index = sent = 0
    while (due := start + index * interval) < end:
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        # Start everything already due (after a late wake-up there may be several).
        now = loop.time()
        while due <= now and due < end:
            task = asyncio.create_task(fire(index, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += due >= recorder.measure_from
            index += 1
            due = start + index * interval
    if tasks:
        await asyncio.wait(tasks, timeout=timeout_s + 5)

    return OpenLoopResult(
        label=label,
        target_rate=rate,
        seconds=seconds,
        sent=sent,
        statuses=dict(recorder.statuses),
        warmup_statuses=dict(recorder.warmup_statuses),
        failures=recorder.failures,
        histogram=recorder.histogram,
        send_lag=recorder.send_lag,
        expected_status=expected_status,
    )
