"""What staff see: a clinic's or a practitioner's day, and visits by status and date. A hold (a time a
patient is filling in their details for) is on the day's schedule, marked by its status `held`: the
time is taken, though nobody is named yet."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from typing import get_args
from uuid import UUID

from booking.adapters.uow import BookingUnitOfWork
from booking.domain.appointments import Appointment, Status
from booking.domain.clinics import Clinic
from booking.domain.holds import HOLD_STATUSES, Hold
from clinic_shared.errors import InvalidInput

# A day's schedule shows what happens in the rooms: visits that were cancelled or rejected do not, nor
# holds that ended without a booking.
ON_THE_SCHEDULE: tuple[Status, ...] = (
    "held", "offered", "requested", "confirmed", "checked_in", "completed", "no_show"
)  # fmt: skip
# Listed when no status is asked for: visits. Holds (and holds that ended) only when asked for by status.
VISIT_STATUSES: tuple[Status, ...] = tuple(s for s in get_args(Status) if s not in HOLD_STATUSES)
MAX_LIST_DAYS = 93


class InvalidPeriod(InvalidInput):
    code = "invalid_period"


def _local_day(clinic: Clinic, day: date, *, days: int = 1) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), clinic.zone)
    return start, datetime.combine(day + timedelta(days=days), time(), clinic.zone)


async def day_schedule(
    uow: BookingUnitOfWork,
    *,
    clinic_id: UUID,
    day: date,
    practitioner_id: UUID | None,
    offset: int,
    limit: int,
) -> tuple[Clinic, list[Appointment | Hold]]:
    async with uow:
        clinic = await uow.clinics.get(clinic_id)
        if practitioner_id is not None:
            await uow.practitioners.get(practitioner_id)
        start, end = _local_day(clinic, day)
        visits = await uow.appointments.between(
            clinic_id=clinic_id,
            start=start,
            end=end,
            statuses=ON_THE_SCHEDULE,
            practitioner_id=practitioner_id,
            offset=offset,
            limit=limit,
        )
    return clinic, visits


async def visits_by_status(
    uow: BookingUnitOfWork,
    *,
    clinic_id: UUID,
    first_day: date,
    last_day: date,
    statuses: Collection[Status],
    offset: int,
    limit: int,
) -> list[Appointment | Hold]:
    if last_day < first_day or (last_day - first_day).days >= MAX_LIST_DAYS:
        raise InvalidPeriod(f"give a period of 1 to {MAX_LIST_DAYS} days", field="to")
    async with uow:
        clinic = await uow.clinics.get(clinic_id)
        start, end = _local_day(clinic, first_day, days=(last_day - first_day).days + 1)
        return await uow.appointments.between(
            clinic_id=clinic_id, start=start, end=end, statuses=statuses or VISIT_STATUSES, offset=offset, limit=limit
        )
