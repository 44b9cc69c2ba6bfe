"""Correctness after every run, and the reset between booking measurements.

The checks do not trust the exclusion constraints they are checking: overlaps are found with a
running maximum per resource (an interval that starts before an earlier-starting one ended overlaps
it), over the same periods the constraints guard (migrations/versions/0002_booking.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

HOLDING = ["requested", "confirmed", "checked_in", "completed"]
REQUESTED_KEY = "booking.appointment.requested.v1"

OVERLAPS = """
WITH holding AS (SELECT * FROM appointments WHERE status = ANY($1::text[])),
periods AS (
    SELECT 'practitioner' AS kind, practitioner_id AS resource, procedure_starts_at AS s, procedure_ends_at AS e
      FROM holding
    UNION ALL SELECT 'room', room_id, starts_at, ends_at FROM holding
    UNION ALL SELECT 'device', device_id, procedure_starts_at, ends_at FROM holding
),
running AS (
    SELECT kind, s, max(e) OVER (PARTITION BY kind, resource ORDER BY s, e
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS earlier_end
      FROM periods WHERE s < e
)
SELECT kind, count(*) AS overlaps FROM running WHERE earlier_end > s GROUP BY kind
"""

# Every appointment has exactly one `requested` outbox row, and no such row announces a visit that
# was rolled back.
OUTBOX = """
WITH announced AS (
    SELECT (body #>> '{payload,appointment_id}')::uuid AS appointment_id, count(*) AS rows
      FROM outbox WHERE routing_key = $1 GROUP BY 1
)
SELECT
  (SELECT count(*) FROM appointments a
     WHERE NOT EXISTS (SELECT 1 FROM announced o WHERE o.appointment_id = a.id)) AS missing,
  (SELECT count(*) FROM announced WHERE rows > 1) AS duplicated,
  (SELECT count(*) FROM announced o
     WHERE NOT EXISTS (SELECT 1 FROM appointments a WHERE a.id = o.appointment_id)) AS orphaned,
  (SELECT count(*) FROM appointments) AS appointments
"""


@dataclass
class CheckResult:
    after: str
    ok: bool
    overlaps: dict[str, int]
    outbox_missing: int
    outbox_duplicated: int
    outbox_orphaned: int
    appointments: int
    notes: list[str]

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


async def check(connection: asyncpg.Connection, *, after: str, notes: list[str] | None = None) -> CheckResult:
    overlaps = {row["kind"]: row["overlaps"] for row in await connection.fetch(OVERLAPS, HOLDING)}
    outbox = await connection.fetchrow(OUTBOX, REQUESTED_KEY)
    assert outbox is not None
    notes = list(notes or [])
    ok = not any(overlaps.values()) and outbox["missing"] == 0 and outbox["duplicated"] == 0 and outbox["orphaned"] == 0
    ok = ok and not any(note.startswith("FAIL") for note in notes)
    return CheckResult(
        after=after,
        ok=ok,
        overlaps=overlaps,
        outbox_missing=outbox["missing"],
        outbox_duplicated=outbox["duplicated"],
        outbox_orphaned=outbox["orphaned"],
        appointments=outbox["appointments"],
        notes=notes,
    )


async def count_appointments(connection: asyncpg.Connection, clinic_ids: list[str]) -> int:
    count: int = await connection.fetchval(
        "SELECT count(*) FROM appointments WHERE clinic_id = ANY($1::uuid[])", clinic_ids
    )
    return count


async def sessions_opened(connection: asyncpg.Connection) -> int:
    """Connections ever opened to this database (PostgreSQL 14+ counts them)."""
    count: int = await connection.fetchval("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
    return count


async def count_patients(connection: asyncpg.Connection) -> int:
    count: int = await connection.fetchval("SELECT count(*) FROM patients")
    return count


async def compact(connection: asyncpg.Connection) -> None:
    """Rewrite the tables bookings write and flush them, so each measurement starts from the same
    physical state. Plain VACUUM is not enough: the service's calendar statement scans the whole
    appointments heap (see docs/benchmarks.md), so the free space the raw baseline's thousands of
    deleted rows leave behind would slow the service's next round. (autovacuum is off here.)"""
    await connection.execute("VACUUM (FULL, ANALYZE) appointments, patients, outbox")
    await connection.execute("CHECKPOINT")


async def reset_grid(connection: asyncpg.Connection, clinic_ids: list[str]) -> int:
    """Forget the visits booked in the grid clinics, their patients and every outbox row about
    either, then compact: every booking measurement starts from the same tables."""
    async with connection.transaction():
        patient_ids = await connection.fetchval(
            """
            WITH gone AS (DELETE FROM appointments WHERE clinic_id = ANY($1::uuid[]) RETURNING patient_id),
                 patients_gone AS (DELETE FROM patients WHERE id IN (SELECT patient_id FROM gone) RETURNING id)
            SELECT coalesce(array_agg(id), '{}') FROM patients_gone
            """,
            clinic_ids,
        )
        await connection.execute(
            """
            DELETE FROM outbox
             WHERE (body #>> '{payload,clinic_id}')::uuid = ANY($1::uuid[])
                OR (body #>> '{payload,patient_id}')::uuid = ANY($2::uuid[])
            """,
            clinic_ids,
            patient_ids,
        )
    await compact(connection)
    return len(patient_ids)
