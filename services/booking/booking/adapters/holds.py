"""Holds: rows of `appointments` in the status `held` (without a patient), held and let go like visits.
A booked hold is taken up by the appointment repository (`take_up_hold`): the row becomes the visit."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.adapters.appointments import hold_from_row, insert_holding
from booking.adapters.tables import appointments
from booking.domain.appointments import Status
from booking.domain.holds import Hold, HoldNotFound


class HoldRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, hold: Hold) -> None:
        """Hold the time; SlotTakenBy names the resource when it is taken (as for a visit)."""
        await insert_holding(self._session, _row(hold), allocation=hold.allocation)

    async def get(self, hold_id: UUID, *, for_update: bool = False) -> Hold:
        """The hold, or the visit it became. `for_update`: locked until the transaction ends; the
        sweeper then passes it by, and a booking with it waits."""
        query = select(appointments).where(appointments.c.id == hold_id, appointments.c.held_until.is_not(None))
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        if row is None:
            raise HoldNotFound("no such hold", field="hold_id")
        return hold_from_row(row._mapping)

    async def decide(self, hold: Hold, *, expected: Status) -> bool:
        """Store a change (extended, released, lapsed) only if nobody changed the status meanwhile."""
        result = await self._session.execute(
            update(appointments)
            .where(appointments.c.id == hold.id, appointments.c.status == expected)
            .values(status=hold.status, held_until=hold.held_until, hold_extended_at=hold.extended_at)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def lapse_expired(self, *, limit: int) -> int:
        """Holds past `held_until` (by the database's clock, as a booking takes them up) lapse, which
        frees their time. Rows another transaction has locked (a booking taking one up, an extension)
        are passed by; the next run looks again."""
        expired = (
            select(appointments.c.id)
            .where(appointments.c.status == "held", appointments.c.held_until <= func.now())
            .order_by(appointments.c.held_until)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        result = await self._session.execute(
            update(appointments)
            .where(appointments.c.id.in_(expired), appointments.c.status == "held")
            .values(status="hold_lapsed")
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def _row(hold: Hold) -> dict[str, Any]:
    return {
        "id": hold.id,
        "clinic_id": hold.clinic_id,
        "patient_id": None,
        "treatment_id": hold.treatment_id,
        "practitioner_id": hold.allocation.practitioner_id,
        "room_id": hold.allocation.room_id,
        "device_id": hold.allocation.device_id,
        "areas": list(hold.areas),
        "status": hold.status,
        "starts_at": hold.starts_at,
        "procedure_starts_at": hold.procedure_starts_at,
        "procedure_ends_at": hold.procedure_ends_at,
        "ends_at": hold.ends_at,
        "requested_at": hold.held_at,
        "lots_used": [],
        "screening_outcome": "clear",
        "held_until": hold.held_until,
        "hold_extended_at": hold.extended_at,
    }
