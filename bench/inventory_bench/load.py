"""In-process load: a closed loop of N concurrent tasks for throughput, and the open-loop schedule of
booking_bench.openloop for latency (call i starts at t0 + i / rate, timed from that instant)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from booking_bench.openloop import OpenLoopResult, scheduled

MAX_ERRORS_KEPT = 5


@dataclass
class Saturated:
    label: str
    seconds: float
    concurrency: int
    in_window: int  # completed during the measurement window
    completed: int  # completed in all, warm-up and the calls in flight at the end included
    errors: list[str] = field(default_factory=list)
    error_count: int = 0

    @property
    def rate(self) -> float:
        return self.in_window / self.seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "rate_per_s": round(self.rate, 1),
            "seconds": self.seconds,
            "concurrency": self.concurrency,
            "completed_in_window": self.in_window,
            "completed": self.completed,
            "errors": self.error_count,
            "first_errors": self.errors,
        }


async def saturate(
    label: str,
    call: Callable[[int], Awaitable[None]],
    *,
    concurrency: int,
    warmup_s: float,
    seconds: float,
) -> Saturated:
    """`concurrency` tasks, each calling `call(its number)` back to back for warm-up + measurement;
    the rate counts the calls that finished inside the measurement window."""
    loop = asyncio.get_running_loop()
    measure_from = loop.time() + warmup_s
    end = measure_from + seconds
    result = Saturated(label=label, seconds=seconds, concurrency=concurrency, in_window=0, completed=0)

    async def worker(number: int) -> None:
        while loop.time() < end:
            try:
                await call(number)
            except Exception as error:
                result.error_count += 1
                if len(result.errors) < MAX_ERRORS_KEPT:
                    result.errors.append(repr(error))
                continue
            result.completed += 1
            if measure_from <= loop.time() < end:
                result.in_window += 1

    await asyncio.gather(*(worker(number) for number in range(concurrency)))
    return result


@dataclass
class Counted:
    completed: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0


async def open_loop_in_process(
    label: str, call: Callable[[int], Awaitable[None]], *, rate: float, warmup_s: float, seconds: float
) -> tuple[OpenLoopResult, Counted]:
    counted = Counted()

    async def timed(index: int) -> str | None:
        try:
            await call(index)
        except Exception as error:
            counted.error_count += 1
            if len(counted.errors) < MAX_ERRORS_KEPT:
                counted.errors.append(repr(error))
            return None
        counted.completed += 1
        return "ok"

    result = await scheduled(
        label=label, call=timed, rate=rate, warmup_s=warmup_s, seconds=seconds, expected_status="ok"
    )
    return result, counted
