"""Waitlist entries, the times freed for them, and the offers made from them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.adapters.appointments import appointment_from_row
from booking.adapters.tables import appointments, freed_times, waitlist_entries
from booking.domain.appointments import Appointment
from booking.domain.waitlist import EntryStatus, WaitlistEntry, WaitlistEntryNotFound


@dataclass(frozen=True)
class FreedTime:
    clinic_id: UUID
    starts_at: datetime
    ends_at: datetime


class WaitlistRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, entry: WaitlistEntry) -> None:
        await self._session.execute(insert(waitlist_entries).values(**_row(entry)))

    async def get(self, entry_id: UUID, *, for_update: bool = False) -> WaitlistEntry:
        query = select(waitlist_entries).where(waitlist_entries.c.id == entry_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        if row is None:
            raise WaitlistEntryNotFound("no such waitlist entry", field="entry_id")
        return _entry(row._mapping)

    async def lock_unless_busy(self, entry_id: UUID) -> WaitlistEntry | None:
        """The entry, locked; None when another transaction holds it right now."""
        row = (
            await self._session.execute(
                select(waitlist_entries).where(waitlist_entries.c.id == entry_id).with_for_update(skip_locked=True)
            )
        ).first()
        return _entry(row._mapping) if row else None

    async def decide(self, entry: WaitlistEntry, *, expected: EntryStatus) -> bool:
        """Store a status change only if nobody changed the entry meanwhile."""
        result = await self._session.execute(
            update(waitlist_entries)
            .where(waitlist_entries.c.id == entry.id, waitlist_entries.c.status == expected)
            .values(status=entry.status, offers_made=entry.offers_made)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def waiting_for(self, *, clinic_id: UUID, first_day: date, last_day: date) -> list[WaitlistEntry]:
        """The clinic's queue for days overlapping [first_day, last_day], first come first, locked. A
        second worker deciding on the same clinic waits here, then sees who is still waiting: it never
        skips an entry (a skipped entry once lost a freed time for good)."""
        rows = await self._session.execute(
            select(waitlist_entries)
            .where(
                waitlist_entries.c.clinic_id == clinic_id,
                waitlist_entries.c.status == "waiting",
                waitlist_entries.c.first_day <= last_day,
                waitlist_entries.c.last_day >= first_day,
            )
            .order_by(waitlist_entries.c.joined_at, waitlist_entries.c.id)
            .with_for_update()
        )
        return [_entry(row._mapping) for row in rows]

    async def listed(
        self, *, clinic_id: UUID, statuses: Collection[EntryStatus] | None, offset: int, limit: int
    ) -> list[WaitlistEntry]:
        query = select(waitlist_entries).where(waitlist_entries.c.clinic_id == clinic_id)
        if statuses:
            query = query.where(waitlist_entries.c.status.in_(list(statuses)))
        rows = await self._session.execute(
            query.order_by(waitlist_entries.c.joined_at, waitlist_entries.c.id).offset(offset).limit(limit)
        )
        return [_entry(row._mapping) for row in rows]

    async def of_patient(self, patient_id: UUID) -> list[WaitlistEntry]:
        rows = await self._session.execute(
            select(waitlist_entries).where(waitlist_entries.c.patient_id == patient_id).with_for_update()
        )
        return [_entry(row._mapping) for row in rows]

    async def lapse_past(self, *, before: date) -> int:
        """Close waiting entries whose last day is before `before`: there is nothing left to offer."""
        result = await self._session.execute(
            update(waitlist_entries)
            .where(waitlist_entries.c.status == "waiting", waitlist_entries.c.last_day < before)
            .values(status="lapsed")
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def open_offer(self, entry_id: UUID, *, for_update: bool = False) -> Appointment | None:
        query = select(appointments).where(
            appointments.c.waitlist_entry_id == entry_id, appointments.c.status == "offered"
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return appointment_from_row(row._mapping) if row else None

    async def periods_offered(self, entry_id: UUID) -> list[tuple[datetime, datetime]]:
        """Every time this entry was offered before: one it declined or let lapse goes to the others."""
        rows = await self._session.execute(
            select(appointments.c.starts_at, appointments.c.ends_at).where(appointments.c.waitlist_entry_id == entry_id)
        )
        return [(row.starts_at, row.ends_at) for row in rows]

    async def entries_with_lapsed_offers(self, *, now: datetime, limit: int = 100) -> list[UUID]:
        rows = await self._session.execute(
            select(appointments.c.waitlist_entry_id)
            .where(appointments.c.status == "offered", appointments.c.offer_expires_at <= now)
            .order_by(appointments.c.offer_expires_at)
            .limit(limit)
        )
        return [row.waitlist_entry_id for row in rows]

    async def claim_freed_time(self) -> FreedTime | None:
        """Take the oldest freed time off the list; it returns to it if the transaction rolls back."""
        oldest = (
            select(freed_times.c.id)
            .order_by(freed_times.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        row = (
            await self._session.execute(
                delete(freed_times)
                .where(freed_times.c.id == oldest)
                .returning(freed_times.c.clinic_id, freed_times.c.starts_at, freed_times.c.ends_at)
            )
        ).first()
        return FreedTime(clinic_id=row.clinic_id, starts_at=row.starts_at, ends_at=row.ends_at) if row else None


def _row(entry: WaitlistEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "clinic_id": entry.clinic_id,
        "patient_id": entry.patient_id,
        "treatment_id": entry.treatment_id,
        "areas": list(entry.areas),
        "practitioner_id": entry.practitioner_id,
        "first_day": entry.first_day,
        "last_day": entry.last_day,
        "status": entry.status,
        "joined_at": entry.joined_at,
        "offers_made": entry.offers_made,
    }


def _entry(row: Any) -> WaitlistEntry:
    return WaitlistEntry(
        id=row["id"],
        clinic_id=row["clinic_id"],
        patient_id=row["patient_id"],
        treatment_id=row["treatment_id"],
        areas=tuple(row["areas"]),
        practitioner_id=row["practitioner_id"],
        first_day=row["first_day"],
        last_day=row["last_day"],
        status=row["status"],
        joined_at=row["joined_at"],
        offers_made=row["offers_made"],
    )
