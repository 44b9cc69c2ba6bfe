"""Courses: a patient's sessions, free times for the next one inside the course window, and booking it."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field

from booking.api.common import Caller, CourseId, Settings, Strict, UnitOfWork, course_caller, patients_link
from booking.api.visits import AppointmentOut, BookedOut, SlotOut
from booking.domain.appointments import Actor, Appointment
from booking.domain.courses import Course
from booking.service import courses as service
from clinic_shared.auth import Forbidden, Principal, Role
from clinic_shared.manage_links import ManageGrant
from clinic_shared.web import ERROR_RESPONSES, error_response

router = APIRouter(prefix="/courses/{course_id}", tags=["courses"], responses=ERROR_RESPONSES)
UNKNOWN: dict[int | str, dict[str, Any]] = {404: error_response("Unknown course")}
STAFF = (Role.FRONT_DESK, Role.CLINIC_MANAGER, Role.ADMIN, Role.PRACTITIONER)
BOOKERS = (Role.FRONT_DESK, Role.CLINIC_MANAGER, Role.ADMIN)


def course_actor(
    caller: ManageGrant | Principal, course: Course, sessions: list[Appointment], *, staff: Collection[Role]
) -> Actor:
    """The patient of the course through a manage link of any of their appointments, or its clinic's staff."""
    del sessions  # the patient is the course's; staff are the clinic's
    if isinstance(caller, ManageGrant):
        if caller.patient_id != course.patient_id:
            raise Forbidden("this link belongs to another patient", field="course_id")
        return "patient"
    if caller.role not in staff:
        raise Forbidden(f"requires one of: {', '.join(sorted(staff))}")
    caller.ensure_clinic(course.clinic_id)
    return "staff"


class CourseOut(BaseModel):
    id: UUID
    clinic_id: UUID
    treatment_id: UUID
    sessions_planned: int
    sessions: list[AppointmentOut]
    next_session_earliest: datetime | None = Field(
        description="the window for the next session: from the start of its first local day (UTC)"
    )
    next_session_latest: datetime | None = Field(description="to the end of its last local day (exclusive, UTC)")


@router.get("", summary="A course and its sessions", responses=UNKNOWN)
async def get_course(course_id: CourseId, uow: UnitOfWork, caller: Caller) -> CourseOut:
    view = await service.view_course(
        uow, course_id=course_id, authorize=partial(course_actor, caller, staff=STAFF), now=datetime.now(UTC)
    )
    earliest, latest = view.next_window or (None, None)
    return CourseOut(
        id=view.course.id,
        clinic_id=view.course.clinic_id,
        treatment_id=view.course.treatment_id,
        sessions_planned=view.course.sessions_planned,
        sessions=[AppointmentOut.of(s) for s in view.sessions],
        next_session_earliest=earliest.astimezone(UTC) if earliest else None,
        next_session_latest=latest.astimezone(UTC) if latest else None,
    )


@router.get("/availability", summary="Free times for the next session", responses=UNKNOWN)
async def next_session_times(course_id: CourseId, uow: UnitOfWork, caller: Caller) -> list[SlotOut]:
    """Only starts inside the course window after the previous session; empty once all are booked."""
    slots = await service.course_availability(
        uow, course_id=course_id, authorize=partial(course_actor, caller, staff=STAFF), now=datetime.now(UTC)
    )
    return [
        SlotOut(starts_at=s.starts_at, local_start=s.local_start, practitioner_ids=list(s.practitioner_ids))
        for s in slots
    ]


class SessionIn(Strict):
    starts_at: AwareDatetime
    practitioner_id: UUID | None = None


@router.post(
    "/sessions",
    status_code=201,
    summary="Book the next session",
    response_model=BookedOut,
    responses={
        **UNKNOWN,
        409: error_response("The time was taken, or every session is booked"),
        422: error_response("Outside the course window or the clinic's rules; `field` names it"),
    },
)
async def book_session(
    course_id: CourseId,
    body: SessionIn,
    uow: UnitOfWork,
    caller: Annotated[ManageGrant | Principal, course_caller(*BOOKERS)],
    settings: Settings,
) -> JSONResponse:
    appointment = await service.book_next_session(
        uow,
        course_id=course_id,
        authorize=partial(course_actor, caller, staff=BOOKERS),
        starts_at=body.starts_at,
        practitioner_id=body.practitioner_id,
        now=datetime.now(UTC),
    )
    booked = BookedOut(
        appointment=AppointmentOut.of(appointment),
        manage_token=patients_link(caller, appointment, settings),
        manage_path=f"/manage/{appointment.id}",
    )
    return JSONResponse(booked.model_dump(mode="json"), status_code=201)
