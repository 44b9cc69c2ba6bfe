"""Correctness after every measurement: looking at the free times changes nothing.

On top of booking_bench.checks (no overlapping visits, every visit announced once in the outbox): no
visit, hold, patient or outbox row appeared in booking's database, and the web service holds exactly
the sessions the benchmark opened (a page that started a session per request, or wrote one, shows)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from booking_bench import checks


@dataclass(frozen=True)
class Counts:
    appointments: int  # visits and holds, any status
    patients: int
    outbox: int
    sessions: int
    sessions_seen_after: str  # the latest last_seen_at (text): a touch moves it, a save does not

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


async def counts(booking: asyncpg.Connection, web: asyncpg.Connection) -> Counts:
    row = await booking.fetchrow(
        "SELECT (SELECT count(*) FROM appointments) AS a, (SELECT count(*) FROM patients) AS p,"
        " (SELECT count(*) FROM outbox) AS o"
    )
    assert row is not None
    sessions = await web.fetchrow("SELECT count(*) AS n, max(last_seen_at)::text AS seen FROM sessions")
    assert sessions is not None
    return Counts(row["a"], row["p"], row["o"], sessions["n"], sessions["seen"] or "")


async def check(
    booking: asyncpg.Connection, web: asyncpg.Connection, *, after: str, baseline: Counts, notes: list[str]
) -> checks.CheckResult:
    now = await counts(booking, web)
    notes = list(notes)
    for name in ("appointments", "patients", "outbox"):
        was, is_ = getattr(baseline, name), getattr(now, name)
        notes.append(("" if was == is_ else "FAIL ") + f"booking {name}: {was} -> {is_}")
    notes.append(
        ("" if now.sessions == baseline.sessions else "FAIL ") + f"web sessions: {baseline.sessions} -> {now.sessions}"
    )
    return await checks.check(booking, after=after, notes=notes)
