"""Correctness after every run, and the reset before every measurement.

After a run of `made` reservations (each of `lines` kit lines, `quantity` units in all), counted from
the reset: no lot below zero or reserved beyond its stock; every lot's balances equal the sum of its
ledger (inventory-reconcile's own query); every reservation answered exactly once in the outbox and
nothing answered that was not reserved; the ledger and the reserved balances hold exactly `made` kits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg

from clinic_shared.runtime import SessionFactory
from inventory.service.stock import reconcile
from inventory_bench.paths import RESERVED_KEY

UNAVAILABLE_KEY = "inventory.supplies.unavailable.v1"

BROKEN_LOTS = """
SELECT count(*) FROM lots
 WHERE on_hand < 0 OR reserved < 0 OR quarantined < 0 OR reserved + quarantined > on_hand
"""

ANSWERS = """
WITH answered AS (
    SELECT body #>> '{payload,appointment_id}' AS appointment_id, count(*) AS rows
      FROM outbox WHERE routing_key = ANY($1::text[]) GROUP BY 1
)
SELECT
  (SELECT count(*) FROM answered) AS answered,
  (SELECT count(*) FROM answered WHERE rows > 1) AS duplicated,
  (SELECT count(*) FROM outbox WHERE routing_key = $2) AS unavailable,
  (SELECT count(*) FROM reservations) AS records,
  (SELECT count(*) FROM reservations WHERE status = 'reserved') AS reserved_records,
  (SELECT count(*) FROM reservations r
     WHERE NOT EXISTS (SELECT 1 FROM answered a WHERE a.appointment_id = r.appointment_id::text)) AS unanswered,
  (SELECT count(*) FROM ledger WHERE reason = 'reserved') AS ledger_rows,
  (SELECT coalesce(sum(reserved), 0) FROM lots) AS reserved_units
"""


@dataclass
class CheckResult:
    after: str
    ok: bool
    facts: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"after": self.after, "ok": self.ok, **self.facts, "notes": self.notes}


async def check(
    connection: asyncpg.Connection,
    factory: SessionFactory,
    *,
    after: str,
    made: int,
    lines: int,
    quantity: Decimal,
    records: bool,
    notes: list[str] | None = None,
) -> CheckResult:
    """`records`: the path keeps a reservation record per visit (the service does, the raw baseline not)."""
    notes = list(notes or [])
    broken = await connection.fetchval(BROKEN_LOTS)
    drifted = await reconcile(factory)
    row = await connection.fetchrow(ANSWERS, [RESERVED_KEY, UNAVAILABLE_KEY], UNAVAILABLE_KEY)
    assert row is not None
    facts = {"reservations_made": made, "broken_lots": broken, "drifted_lots": len(drifted), **dict(row)}
    facts["reserved_units"] = str(row["reserved_units"])
    expected = {
        "broken_lots": (broken, 0),
        "drifted_lots": (len(drifted), 0),
        "answered": (row["answered"], made),
        "duplicated": (row["duplicated"], 0),
        "unavailable": (row["unavailable"], 0),
        "ledger_rows": (row["ledger_rows"], made * lines),
        "reserved_units": (row["reserved_units"], made * quantity),
    }
    if records:
        expected |= {
            "records": (row["records"], made),
            "reserved_records": (row["reserved_records"], made),
            "unanswered": (row["unanswered"], 0),
        }
    for name, (found, wanted) in expected.items():
        if found != wanted:
            notes.append(f"FAIL {name}: {found}, expected {wanted}")
    if drifted:
        notes.append(f"FAIL first drifted lot: {drifted[0]}")
    ok = not any(note.startswith("FAIL") for note in notes)
    return CheckResult(after=after, ok=ok, facts=facts, notes=notes)


async def reset(connection: asyncpg.Connection) -> None:
    """Every measurement starts from the same tables: nothing reserved, no reservation record or
    outbox row, and a ledger of one receipt per lot (so the ledger still sums to the balances). The
    ledger refuses UPDATE and DELETE, not TRUNCATE; autovacuum is off here, hence the VACUUM."""
    async with connection.transaction():
        await connection.execute("TRUNCATE ledger, outbox, reservation_lines, reservations, processed_messages")
        await connection.execute("UPDATE lots SET reserved = 0")
        await connection.execute(
            """
            INSERT INTO ledger (lot_id, clinic_id, item_id, on_hand_change, reserved_change, quarantined_change,
                                reason, actor, reference)
            SELECT id, clinic_id, item_id, on_hand, 0, quarantined, 'received', 'bench', 'reset' FROM lots
            """
        )
    await connection.execute("VACUUM (ANALYZE) lots, ledger, outbox, reservations, reservation_lines")
    await connection.execute("CHECKPOINT")
