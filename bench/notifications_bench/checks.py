"""Correctness after every measurement, and the reset before every one.

E1: every message applied exactly once (one processed-message record and one recipient each, no
duplicate, none retried or dead-lettered), every message acknowledged, and the queue, its retry tiers
and its error queue empty afterwards; the raw side: every message acknowledged, the queue empty.
E-mail: every queued confirmation `sent` (`SELECT kind, status, count(*) FROM messages GROUP BY
kind, status`: since the sending rewrite a confirmed visit also queues its reminder, due a day before
the visit, which must still wait), and on both sides the SMTP server received exactly N messages, each
of them multipart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

from clinic_shared.messaging import Broker
from notifications.consumers import PATIENTS_AND_VISITS
from notifications_bench.consuming import SERVICE, Drained, depth
from notifications_bench.mail import Sent

KEPT_TABLES = ("alembic_version", "clinics")


@dataclass
class CheckResult:
    after: str
    ok: bool
    facts: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"after": self.after, "ok": self.ok, **self.facts, "notes": self.notes}


def _verdict(after: str, facts: dict[str, Any], expected: dict[str, tuple[Any, Any]], notes: list[str]) -> CheckResult:
    for name, (found, wanted) in expected.items():
        if found != wanted:
            notes.append(f"FAIL {name}: {found}, expected {wanted}")
    return CheckResult(after=after, ok=not any(n.startswith("FAIL") for n in notes), facts=facts, notes=notes)


async def queue_depths(broker: Broker, consumer: str) -> dict[str, int]:
    names = broker.topology.queue_names(service=SERVICE, consumer=consumer)
    channel = await broker.connection.channel()
    try:
        return {name: await depth(channel, name) for name in (names.main, *names.retries, names.error)}
    finally:
        await channel.close()


async def check_consumed(db: asyncpg.Connection, broker: Broker, drained: Drained, *, service: bool) -> CheckResult:
    depths = await queue_depths(broker, PATIENTS_AND_VISITS.name if service else "e1-raw")
    facts: dict[str, Any] = {"published": drained.messages, **drained.as_dict(), "queue_depths_after": depths}
    expected: dict[str, tuple[Any, Any]] = {
        "acked": (drained.acked, drained.messages),
        "messages left in the queues": (sum(depths.values()), 0),
    }
    if service:
        processed = await db.fetchval(
            "SELECT count(*) FROM processed_messages WHERE consumer = $1", PATIENTS_AND_VISITS.name
        )
        recipients = await db.fetchval("SELECT count(*) FROM recipients")
        facts |= {"processed_records": processed, "recipients": recipients}
        expected |= {
            "processed_records": (processed, drained.messages),
            "recipients": (recipients, drained.messages),
            "duplicates": (drained.duplicates, 0),
            "retried or dead-lettered": (drained.failed, 0),
        }
    return _verdict(drained.label, facts, expected, [])


async def check_sent(db: asyncpg.Connection, sent: Sent, *, service: bool) -> CheckResult:
    facts: dict[str, Any] = {"queued": sent.messages, **sent.as_dict()}
    expected: dict[str, tuple[Any, Any]] = {
        "received_by_server": (sent.received, sent.messages),
        "multipart": (sent.multipart, sent.received),
    }
    if service:
        statuses = await message_statuses(db)
        facts["message_statuses"] = statuses
        expected["confirmations"] = (statuses.get("confirmation"), {"sent": sent.messages})
        expected["other messages sent"] = (_gone_out(statuses, but="confirmation"), 0)
    return _verdict(sent.label, facts, expected, [])


async def message_statuses(db: asyncpg.Connection) -> dict[str, dict[str, int]]:
    """Kind -> status -> messages."""
    found: dict[str, dict[str, int]] = {}
    for row in await db.fetch("SELECT kind, status, count(*) FROM messages GROUP BY kind, status"):
        found.setdefault(row["kind"], {})[row["status"]] = row["count"]
    return found


def _gone_out(statuses: dict[str, dict[str, int]], *, but: str) -> int:
    return sum(n for kind, by_status in statuses.items() if kind != but for s, n in by_status.items() if s != "queued")


async def reset(db: asyncpg.Connection) -> None:
    """Every measurement starts from the same tables: every table but the clinic projection (and
    Alembic's) emptied, whatever tables the service has by now; autovacuum is off here, hence VACUUM."""
    tables = [
        row["tablename"]
        for row in await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        if row["tablename"] not in KEPT_TABLES
    ]
    await db.execute(f"TRUNCATE {', '.join(tables)}")
    await db.execute("VACUUM (ANALYZE)")
    await db.execute("CHECKPOINT")
