"""Courses: the next session inside the clinic's window after the previous one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from booking import availability
from booking.adapters.uow import BookingUnitOfWork
from booking.domain.appointments import Actor, Appointment
from booking.domain.clinics import Clinic
from booking.domain.courses import Course, CourseWindow, OutsideCourseWindow
from booking.service.visits import (
    calendar_for,
    clinic_calendar,
    days_around,
    ensure_plausible_start,
    ensure_practitioner,
    find_availability,
    hold_somewhere,
    requested,
)

# Decides whether the caller may act on this course (given its sessions), and as whom.
AuthorizeCourse = Callable[[Course, list[Appointment]], Actor]


def window_of(clinic: Clinic) -> CourseWindow:
    return CourseWindow(
        min_weeks=clinic.policy.course_min_weeks, max_weeks=clinic.policy.course_max_weeks, zone=clinic.zone
    )


@dataclass(frozen=True)
class CourseView:
    course: Course
    sessions: list[Appointment]
    next_window: tuple[datetime, datetime] | None


async def view_course(
    uow: BookingUnitOfWork, *, course_id: UUID, authorize: AuthorizeCourse, now: datetime
) -> CourseView:
    async with uow:
        course = await uow.appointments.course(course_id)
        sessions = await uow.appointments.sessions(course_id)
        authorize(course, sessions)
        clinic = await uow.clinics.get(course.clinic_id)
    window = None
    if len(sessions) < course.sessions_planned:
        window = _next_window(window_of(clinic), sessions, now=now)
    return CourseView(course=course, sessions=sessions, next_window=window)


def _next_window(window: CourseWindow, sessions: list[Appointment], *, now: datetime) -> tuple[datetime, datetime]:
    """After the last session that still holds its time; with none left (all cancelled), the course
    starts over: any time from today to the window's far end."""
    if sessions:
        return window.after(sessions[-1].starts_at)
    today = datetime.combine(now.astimezone(window.zone).date(), time(), window.zone)
    return today, today + timedelta(weeks=window.max_weeks)


async def course_availability(
    uow: BookingUnitOfWork, *, course_id: UUID, authorize: AuthorizeCourse, now: datetime
) -> list[availability.Slot]:
    """Free starts for the next session, limited to the course window (as far as one search reaches)."""
    view = await view_course(uow, course_id=course_id, authorize=authorize, now=now)
    if view.next_window is None:
        return []
    earliest, latest = view.next_window
    zone = earliest.tzinfo
    assert isinstance(zone, ZoneInfo)
    today = now.astimezone(zone).date()
    first_day = max(earliest.date(), today)
    last_day = (latest - timedelta(microseconds=1)).astimezone(zone).date()
    if last_day < first_day:
        return []
    _, slots = await find_availability(
        uow,
        clinic_id=view.course.clinic_id,
        treatment_id=view.course.treatment_id,
        areas=view.course.areas,
        first_day=first_day,
        last_day=min(last_day, first_day + timedelta(days=availability.MAX_SEARCH_DAYS - 1)),
        practitioner_id=None,
        now=now,
    )
    return [slot for slot in slots if earliest <= slot.starts_at < latest]


async def book_next_session(
    uow: BookingUnitOfWork,
    *,
    course_id: UUID,
    authorize: AuthorizeCourse,
    starts_at: datetime,
    practitioner_id: UUID | None,
    now: datetime,
) -> Appointment:
    async with uow:
        course = await uow.appointments.course(course_id)
        sessions = await uow.appointments.sessions(course_id)
        authorize(course, sessions)
        number = course.next_session_number([s.session_number or 0 for s in sessions])
        clinic = await uow.clinics.get(course.clinic_id)
        ensure_plausible_start(starts_at, now=now)
        if sessions:
            window_of(clinic).check(previous_start=sessions[-1].starts_at, starts_at=starts_at)
        first_day, last_day = days_around(starts_at)
        calendar = await calendar_for(
            uow, clinic_id=course.clinic_id, treatment_id=course.treatment_id, first_day=first_day, last_day=last_day
        )
        ensure_practitioner(calendar, practitioner_id)
        phases = calendar.treatment.phases(course.areas)
        availability.check_start(clinic=clinic_calendar(calendar), phases=phases, starts_at=starts_at, now=now)

        async def store(allocation: availability.Allocation) -> Appointment:
            appointment = Appointment.request(
                clinic_id=course.clinic_id,
                patient_id=course.patient_id,
                treatment_id=course.treatment_id,
                areas=course.areas,
                allocation=allocation,
                starts_at=starts_at,
                phases=phases,
                now=now,
                course_id=course.id,
                session_number=number,
            )
            await uow.appointments.hold(appointment)
            return appointment

        appointment = await hold_somewhere(
            uow, calendar=calendar, areas=course.areas, starts_at=starts_at, practitioner_id=practitioner_id,
            now=now, store=store,
        )  # fmt: skip
        uow.outbox.add(
            requested(appointment, device_model=calendar.device_models.get(appointment.allocation.device_id))
        )
        await uow.commit()
    return appointment


async def check_course_neighbours(uow: BookingUnitOfWork, *, appointment: Appointment, starts_at: datetime) -> None:
    """A moved session must stay in the window after the previous one and keep the next in its own."""
    if appointment.course_id is None:
        return
    clinic = await uow.clinics.get(appointment.clinic_id)
    window = window_of(clinic)
    sessions = await uow.appointments.sessions(appointment.course_id)
    number = appointment.session_number or 0
    before = [s for s in sessions if (s.session_number or 0) < number]
    after = [s for s in sessions if (s.session_number or 0) > number]
    if before:
        window.check(previous_start=before[-1].starts_at, starts_at=starts_at)
    if after:
        try:
            window.check(previous_start=starts_at, starts_at=after[0].starts_at)
        except OutsideCourseWindow as error:
            raise OutsideCourseWindow(
                f"session {after[0].session_number} would fall outside the course window: {error.message}",
                field="starts_at",
            ) from error
