"""Staff views: the day's schedule of a clinic or a practitioner, and visits by status and date."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from booking.api.common import ClinicId, ClinicStaff, UnitOfWork
from booking.api.visits import AppointmentOut
from booking.domain.appointments import Appointment, Status
from booking.domain.holds import Hold
from booking.service import schedules as service
from clinic_shared.pagination import Page, PageParams
from clinic_shared.web import ERROR_RESPONSES, SaneDate, error_response

router = APIRouter(prefix="/clinics/{clinic_id}", tags=["staff views"], responses=ERROR_RESPONSES)


@router.get(
    "/schedule", summary="A day at the clinic", responses={404: error_response("Unknown clinic or practitioner")}
)
async def schedule(
    clinic_id: ClinicId,
    uow: UnitOfWork,
    principal: ClinicStaff,
    page: PageParams,
    day: Annotated[SaneDate, Query(description="the clinic's local date")],
    practitioner_id: Annotated[UUID | None, Query(description="only this practitioner's visits")] = None,
) -> Page[AppointmentOut]:
    """Visits starting that day in start order (cancelled and rejected ones left out), for staff of
    the clinic. With `practitioner_id`, one practitioner's day. A time a patient is holding online
    while they fill in their details is on it too, with the status `held`: it is taken, but nobody
    is named yet (it becomes a `requested` visit of the same id, or drops off when it lapses or is
    released)."""
    _, visits = await service.day_schedule(
        uow, clinic_id=clinic_id, day=day, practitioner_id=practitioner_id, offset=page.offset, limit=page.fetch
    )
    return Page[AppointmentOut].of([_staff_view(v) for v in visits], page)


@router.get("/appointments", summary="Visits by status and date", responses={404: error_response("Unknown clinic")})
async def appointments(
    clinic_id: ClinicId,
    uow: UnitOfWork,
    principal: ClinicStaff,
    page: PageParams,
    first_day: Annotated[SaneDate, Query(alias="from")],
    last_day: Annotated[SaneDate, Query(alias="to", description="inclusive; at most 93 days after `from`")],
    status: Annotated[list[Status] | None, Query(description="any of these statuses (repeatable)")] = None,
) -> Page[AppointmentOut]:
    """Visits starting in the period, in start order, for staff of the clinic. Without `status`,
    every visit; holds (`held`, and `hold_lapsed` or `hold_released` for those that ended without a
    booking: no patient is named on them) are listed only when asked for by status."""
    visits = await service.visits_by_status(
        uow,
        clinic_id=clinic_id,
        first_day=first_day,
        last_day=last_day,
        statuses=status or [],
        offset=page.offset,
        limit=page.fetch,
    )
    return Page[AppointmentOut].of([_staff_view(v) for v in visits], page)


def _staff_view(visit: Appointment | Hold) -> AppointmentOut:
    if isinstance(visit, Hold):
        return AppointmentOut.of_hold(visit)
    return AppointmentOut.of(visit, for_staff=True)
