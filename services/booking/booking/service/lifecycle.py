"""A visit after booking: reschedule, cancel, check in, complete, no-show. Each change is a
conditional update that announces its event in the same transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from uuid import UUID

from booking import availability
from booking.adapters.uow import BookingUnitOfWork
from booking.domain.appointments import Actor, Appointment, IllegalTransition, LotUsed
from booking.domain.areas import Area
from booking.domain.clinics import Clinic
from booking.service.courses import check_course_neighbours, window_of
from booking.service.visits import (
    calendar_for,
    clinic_calendar,
    days_around,
    ensure_plausible_start,
    ensure_practitioner,
    hold_somewhere,
)
from clinic_shared.events import Event, catalogue

# Decides whether the caller may act on this appointment, and as whom (raises when they may not).
Authorize = Callable[[Appointment], Actor]


async def _stored(uow: BookingUnitOfWork, changed: Appointment, *, was: Appointment) -> None:
    if not await uow.appointments.decide(changed, expected=was.status):
        raise IllegalTransition("the visit was changed by someone else meanwhile; reload it", field="status")


def _cutoff(clinic: Clinic) -> timedelta:
    return timedelta(hours=clinic.policy.cancellation_cutoff_hours)


async def _change(
    uow: BookingUnitOfWork,
    *,
    appointment_id: UUID,
    authorize: Authorize,
    change: Callable[[Appointment, Actor, Clinic], Appointment],
    announce: Callable[[Appointment, Actor], Event],
) -> Appointment:
    """Load, authorize, apply the rule, store it conditionally and announce it, in one transaction."""
    async with uow:
        appointment = await uow.appointments.get(appointment_id, for_update=True)
        actor = authorize(appointment)
        clinic = await uow.clinics.get(appointment.clinic_id)
        changed = change(appointment, actor, clinic)
        await _stored(uow, changed, was=appointment)
        uow.outbox.add(announce(changed, actor))
        await uow.commit()
    return changed


async def cancel_visit(
    uow: BookingUnitOfWork, *, appointment_id: UUID, authorize: Authorize, reason_code: str | None, now: datetime
) -> Appointment:
    return await _change(
        uow,
        appointment_id=appointment_id,
        authorize=authorize,
        change=lambda visit, by, clinic: visit.cancelled(
            by=by, now=now, cutoff=_cutoff(clinic), reason_code=reason_code
        ),
        announce=lambda visit, by: catalogue.AppointmentCancelled(
            appointment_id=visit.id,
            clinic_id=visit.clinic_id,
            patient_id=visit.patient_id,
            cancelled_by=by,
            reason_code=reason_code,
        ),
    )


async def reschedule_visit(
    uow: BookingUnitOfWork,
    *,
    appointment_id: UUID,
    authorize: Authorize,
    starts_at: datetime,
    practitioner_id: UUID | None,
    now: datetime,
) -> Appointment:
    """The new time is held and the old freed in one statement: never both, never neither."""
    async with uow:
        appointment = await uow.appointments.get(appointment_id, for_update=True)
        by = authorize(appointment)
        clinic = await uow.clinics.get(appointment.clinic_id)
        appointment.ensure_reschedulable(by=by, now=now, cutoff=_cutoff(clinic))
        ensure_plausible_start(starts_at, now=now)
        await uow.appointments.lock_moves(appointment.clinic_id)  # before reading the calendar it moves in
        await check_course_neighbours(uow, appointment=appointment, starts_at=starts_at)
        first_day, last_day = days_around(starts_at)
        calendar = await calendar_for(
            uow,
            clinic_id=appointment.clinic_id,
            treatment_id=appointment.treatment_id,
            first_day=first_day,
            last_day=last_day,
            ignoring=appointment.id,
        )
        ensure_practitioner(calendar, practitioner_id)
        phases = calendar.treatment.phases(appointment.areas)
        availability.check_start(clinic=clinic_calendar(calendar), phases=phases, starts_at=starts_at, now=now)

        async def store(allocation: availability.Allocation) -> Appointment:
            moved = appointment.moved(allocation=allocation, starts_at=starts_at, phases=phases)
            await _stored(uow, moved, was=appointment)
            return moved

        moved = await hold_somewhere(
            uow, calendar=calendar, areas=appointment.areas, starts_at=starts_at, practitioner_id=practitioner_id,
            now=now, store=store,
        )  # fmt: skip
        uow.outbox.add(
            catalogue.AppointmentRescheduled(
                appointment_id=moved.id,
                clinic_id=moved.clinic_id,
                patient_id=moved.patient_id,
                previous_starts_at=appointment.starts_at,
                starts_at=moved.starts_at,
                ends_at=moved.ends_at,
                areas=list(moved.areas),
                practitioner_id=moved.allocation.practitioner_id,
                room_id=moved.allocation.room_id,
                device_id=moved.allocation.device_id,
            )
        )
        await uow.commit()
    return moved


async def check_in_visit(
    uow: BookingUnitOfWork, *, appointment_id: UUID, authorize: Authorize, now: datetime
) -> Appointment:
    return await _change(
        uow,
        appointment_id=appointment_id,
        authorize=authorize,
        change=lambda visit, _, __: visit.checked_in(now=now),
        announce=lambda visit, _: catalogue.AppointmentCheckedIn(
            appointment_id=visit.id, clinic_id=visit.clinic_id, patient_id=visit.patient_id, checked_in_at=now
        ),
    )


async def complete_visit(
    uow: BookingUnitOfWork,
    *,
    appointment_id: UUID,
    authorize: Authorize,
    depths_mm: Mapping[Area, float],
    lots_used: tuple[LotUsed, ...],
    now: datetime,
) -> Appointment:
    """The depths are a treatment record and stay here; the event names the lots for traceability and,
    for a course with a session still to book, that session's window (notifications suggests it)."""
    async with uow:
        appointment = await uow.appointments.get(appointment_id, for_update=True)
        authorize(appointment)
        clinic = await uow.clinics.get(appointment.clinic_id)
        completed = appointment.completed(
            depths_mm=depths_mm, allowed_mm=clinic.policy.needle_depth_mm, lots_used=lots_used, now=now
        )
        await _stored(uow, completed, was=appointment)
        uow.outbox.add(
            catalogue.AppointmentCompleted(
                appointment_id=completed.id,
                clinic_id=completed.clinic_id,
                patient_id=completed.patient_id,
                completed_at=now,
                areas=list(completed.areas),
                lots_used=[catalogue.LotUsed(item_id=lot.item_id, lot_number=lot.lot_number) for lot in lots_used],
                course_id=completed.course_id,
                session_number=completed.session_number,
                next_session=await _next_session(uow, completed, clinic),
            )
        )
        await uow.commit()
    return completed


async def _next_session(uow: BookingUnitOfWork, visit: Appointment, clinic: Clinic) -> catalogue.NextSession | None:
    """The course's next session, if it has one left and it is not booked yet."""
    if visit.course_id is None or visit.session_number is None:
        return None
    course = await uow.appointments.course(visit.course_id)
    number = visit.session_number + 1
    booked = {session.session_number for session in await uow.appointments.sessions(visit.course_id)}
    if number > course.sessions_planned or number in booked:
        return None
    first_day, last_day = window_of(clinic).days_after(visit.starts_at)
    return catalogue.NextSession(session_number=number, first_day=first_day, last_day=last_day)


async def mark_no_show(
    uow: BookingUnitOfWork, *, appointment_id: UUID, authorize: Authorize, now: datetime
) -> Appointment:
    return await _change(
        uow,
        appointment_id=appointment_id,
        authorize=authorize,
        change=lambda visit, _, __: visit.marked_no_show(now=now),
        announce=lambda visit, _: catalogue.AppointmentNoShow(
            appointment_id=visit.id, clinic_id=visit.clinic_id, patient_id=visit.patient_id, marked_at=now
        ),
    )
