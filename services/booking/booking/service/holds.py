"""Holds: a chosen time kept for a few minutes while a patient fills in their details (see
domain/holds.py). Nobody is named and nothing is announced: inventory and notifications hear of the
visit once the hold is booked (service/bookings.py), never of the hold."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from booking import availability
from booking.adapters.uow import BookingUnitOfWork
from booking.domain.areas import Area
from booking.domain.holds import Hold
from booking.service.visits import checked_start, hold_somewhere
from booking.settings import BookingSettings
from clinic_shared.logging import get_logger
from clinic_shared.runtime import SessionFactory

log = get_logger(__name__)

# Holds lapsed per run of the job, in one statement; more wait for the next run, 5 seconds on.
LAPSED_PER_RUN = 500


async def hold_time(
    uow: BookingUnitOfWork,
    *,
    clinic_id: UUID,
    treatment_id: UUID,
    areas: tuple[Area, ...],
    starts_at: datetime,
    practitioner_id: UUID | None,
    now: datetime,
    hold_for: timedelta,
) -> Hold:
    """Keep the time until `now + hold_for`. The start is checked and the practitioner, room and device
    picked exactly as for a booking: the same refusals, and SlotTaken with the next free times when
    someone was faster."""
    async with uow:
        calendar, phases = await checked_start(
            uow, clinic_id=clinic_id, treatment_id=treatment_id, areas=areas, starts_at=starts_at,
            practitioner_id=practitioner_id, now=now,
        )  # fmt: skip

        async def store(allocation: availability.Allocation) -> Hold:
            hold = Hold.place(
                clinic_id=clinic_id, treatment_id=treatment_id, areas=areas, allocation=allocation,
                starts_at=starts_at, phases=phases, now=now, hold_for=hold_for,
            )  # fmt: skip
            await uow.holds.add(hold)
            return hold

        hold = await hold_somewhere(
            uow, calendar=calendar, areas=areas, starts_at=starts_at, practitioner_id=practitioner_id, now=now,
            store=store,
        )  # fmt: skip
        await uow.commit()
    return hold


async def find_hold(uow: BookingUnitOfWork, *, hold_id: UUID) -> Hold:
    async with uow:
        await uow.read_without_transaction()
        return await uow.holds.get(hold_id)


async def extend_hold(uow: BookingUnitOfWork, *, hold_id: UUID, by: timedelta, now: datetime) -> Hold:
    """Once, while the hold still keeps its time."""
    async with uow:
        hold = await uow.holds.get(hold_id, for_update=True)
        extended = hold.extended(by=by, now=now)
        await uow.holds.decide(extended, expected="held")
        await uow.commit()
    return extended


async def release_hold(uow: BookingUnitOfWork, *, hold_id: UUID, now: datetime) -> Hold:
    """The time is free at once (the patient chose another, or left)."""
    async with uow:
        hold = await uow.holds.get(hold_id, for_update=True)
        released = hold.released(now=now)
        if released.status != hold.status:
            await uow.holds.decide(released, expected=hold.status)
        await uow.commit()
    return released


async def lapse_holds(session_factory: SessionFactory, settings: BookingSettings) -> None:
    """Worker job: holds past their time lapse, which frees it."""
    async with BookingUnitOfWork(session_factory, producer=settings.service_name) as uow:
        lapsed = await uow.holds.lapse_expired(limit=LAPSED_PER_RUN)
        await uow.commit()
    if lapsed:
        log.info("holds_lapsed", count=lapsed)
