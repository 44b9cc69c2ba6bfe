"""Booking a visit: the time held afresh, or taken over from the patient's hold, and the patient, their
screening and a course recorded with it, in one transaction that announces the request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from booking import availability
from booking.adapters.calendar import Calendar
from booking.adapters.uow import BookingUnitOfWork
from booking.domain.appointments import Appointment
from booking.domain.areas import Area
from booking.domain.courses import Course
from booking.domain.holds import Hold
from booking.domain.patients import Patient
from booking.domain.screening import Outcome, screen
from booking.service.visits import PatientDetails, checked_start, hold_somewhere, record_patient, requested
from clinic_shared.idempotency import StoredResponse


@dataclass(frozen=True)
class IdempotencyRequest:
    scope: str
    route: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class Booking:
    """The outcome of a booking request: a new visit, or the stored answer to the same request."""

    status_code: int
    body: dict[str, Any]
    appointment: Appointment | None = None

    @classmethod
    def replayed(cls, stored: StoredResponse) -> Booking:
        return cls(status_code=stored.status_code, body=stored.body)


async def book_visit(
    uow: BookingUnitOfWork,
    *,
    clinic_id: UUID,
    treatment_id: UUID,
    areas: tuple[Area, ...],
    starts_at: datetime,
    practitioner_id: UUID | None,
    patient: PatientDetails,
    now: datetime,
    idempotency: IdempotencyRequest | None,
    answer: Callable[[Appointment], dict[str, Any]],
    screening_answers: Mapping[str, bool] | None = None,
    course_sessions: int | None = None,
    returning_patient_id: UUID | None = None,
    hold_id: UUID | None = None,
) -> Booking:
    """Hold the time and record the visit as `requested`; inventory's answer confirms or rejects it.
    `returning_patient_id`: the patient of an earlier visit (from its manage link) books again on
    the same record, with the details given now; otherwise a new record is made. `hold_id`: a hold
    of this time (from its token) becomes the visit while it is held; once it lapsed or was
    released, the time is booked afresh like any other."""
    async with uow:
        if idempotency is not None and (stored := await _claim(uow, idempotency)) is not None:
            return Booking.replayed(stored)
        hold = await uow.holds.get(hold_id, for_update=True) if hold_id is not None else None
        calendar, phases = await checked_start(
            uow, clinic_id=clinic_id, treatment_id=treatment_id, areas=areas, starts_at=starts_at,
            practitioner_id=practitioner_id, now=now, ignoring=hold.id if hold else None,
        )  # fmt: skip
        if hold is not None:
            hold.ensure_for(
                clinic_id=clinic_id, treatment_id=treatment_id, areas=areas, starts_at=starts_at,
                practitioner_id=practitioner_id, now=now,
            )  # fmt: skip
        outcome = screen(calendar.screening, screening_answers or {})
        new_patient = await record_patient(uow, patient, now=now, returning_patient_id=returning_patient_id)
        course = await _open_course(
            uow, new_patient, clinic_id=clinic_id, treatment_id=treatment_id, areas=areas, sessions=course_sessions
        )
        visit = _Visit(
            clinic_id=clinic_id,
            treatment_id=treatment_id,
            areas=areas,
            starts_at=starts_at,
            patient_id=new_patient.id,
            screening_outcome=outcome,
            screening_answers=dict(screening_answers or {}),
            course=course,
        )
        appointment = await _take_up(uow, hold, visit, now=now) if hold else None
        if appointment is None:
            appointment = await _hold_afresh(
                uow, visit, calendar=calendar, phases=phases, practitioner_id=practitioner_id, now=now
            )
        uow.outbox.add(
            requested(appointment, device_model=calendar.device_models.get(appointment.allocation.device_id))
        )
        body = answer(appointment)
        if idempotency is not None:
            await _remember(uow, idempotency, body)
        await uow.commit()
    return Booking(status_code=201, body=body, appointment=appointment)


@dataclass(frozen=True)
class _Visit:
    """The visit asked for and who comes: the same whether its time is held afresh or taken from a hold."""

    clinic_id: UUID
    treatment_id: UUID
    areas: tuple[Area, ...]
    starts_at: datetime
    patient_id: UUID
    screening_outcome: Outcome
    screening_answers: Mapping[str, bool]
    course: Course | None

    def requested(
        self, allocation: availability.Allocation, *, phases: availability.Phases, now: datetime
    ) -> Appointment:
        return Appointment.request(
            clinic_id=self.clinic_id, patient_id=self.patient_id, treatment_id=self.treatment_id, areas=self.areas,
            allocation=allocation, starts_at=self.starts_at, phases=phases, now=now,
            screening_outcome=self.screening_outcome, screening_answers=self.screening_answers,
            course_id=self.course.id if self.course else None, session_number=1 if self.course else None,
        )  # fmt: skip

    def from_hold(self, hold: Hold, *, now: datetime) -> Appointment:
        return hold.booked(
            patient_id=self.patient_id, now=now, screening_outcome=self.screening_outcome,
            screening_answers=self.screening_answers, course_id=self.course.id if self.course else None,
            session_number=1 if self.course else None,
        )  # fmt: skip


async def _hold_afresh(
    uow: BookingUnitOfWork,
    visit: _Visit,
    *,
    calendar: Calendar,
    phases: availability.Phases,
    practitioner_id: UUID | None,
    now: datetime,
) -> Appointment:
    async def store(allocation: availability.Allocation) -> Appointment:
        appointment = visit.requested(allocation, phases=phases, now=now)
        await uow.appointments.hold(appointment)
        return appointment

    return await hold_somewhere(
        uow, calendar=calendar, areas=visit.areas, starts_at=visit.starts_at, practitioner_id=practitioner_id,
        now=now, store=store,
    )  # fmt: skip


async def _take_up(uow: BookingUnitOfWork, hold: Hold, visit: _Visit, *, now: datetime) -> Appointment | None:
    """The held row becomes the visit while it is still held. A hold past its time that the sweeper has
    not reached yet lapses here, so the booking can take its time afresh (None: book normally)."""
    if hold.state(now) == "held":
        appointment = visit.from_hold(hold, now=now)
        if await uow.appointments.take_up_hold(appointment):
            return appointment
    if hold.status == "held":
        await uow.holds.decide(hold.lapsed(), expected="held")
    return None


async def _open_course(
    uow: BookingUnitOfWork,
    patient: Patient,
    *,
    clinic_id: UUID,
    treatment_id: UUID,
    areas: tuple[Area, ...],
    sessions: int | None,
) -> Course | None:
    if sessions is None:
        return None
    course = Course.plan(
        clinic_id=clinic_id, patient_id=patient.id, treatment_id=treatment_id, areas=areas, sessions=sessions
    )
    await uow.appointments.add_course(course)
    return course


async def _claim(uow: BookingUnitOfWork, idempotency: IdempotencyRequest) -> StoredResponse | None:
    return await uow.idempotency.claim(
        scope=idempotency.scope, route=idempotency.route, key=idempotency.key, fingerprint=idempotency.fingerprint
    )


async def _remember(uow: BookingUnitOfWork, idempotency: IdempotencyRequest, body: dict[str, Any]) -> None:
    await uow.idempotency.remember(
        scope=idempotency.scope,
        route=idempotency.route,
        key=idempotency.key,
        fingerprint=idempotency.fingerprint,
        status_code=201,
        body=body,
    )
