"""Patients: staff reading health details (each read recorded) and erasure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from booking.adapters.uow import BookingUnitOfWork
from booking.domain.appointments import Appointment
from booking.domain.patients import Patient
from booking.domain.screening import ScreeningQuestion
from booking.service.waitlist import leave_all
from clinic_shared.auth import Forbidden, Principal
from clinic_shared.events import catalogue


async def read_patient(uow: BookingUnitOfWork, *, patient_id: UUID, reader: Principal) -> Patient:
    """Staff of a clinic the patient booked with (admins: any) read the record; the read itself is
    recorded in the same transaction, so an unrecorded read cannot happen."""
    async with uow:
        # The scope first: staff of other clinics learn nothing, not even whether the record exists.
        if not reader.works_at_every_clinic and not await uow.patients.clinics_booked(patient_id) & reader.clinic_ids:
            raise Forbidden("this patient has not booked with your clinics", field="patient_id")
        patient = await uow.patients.get(patient_id)
        await uow.patients.record_health_read(patient_id, read_by=reader.subject, role=reader.role.value)
        await uow.commit()
    return patient


@dataclass(frozen=True)
class ScreeningRecord:
    appointment: Appointment
    questions: tuple[ScreeningQuestion, ...]


async def read_screening(uow: BookingUnitOfWork, *, appointment_id: UUID, reader: Principal) -> ScreeningRecord:
    """A visit's screening answers, for staff of its clinic (a practitioner reviewing a flagged
    booking); recorded as a read of the patient's health data, in the same transaction."""
    async with uow:
        appointment = await uow.appointments.get(appointment_id)
        reader.ensure_clinic(appointment.clinic_id)
        questions = await uow.setup.screening(appointment.clinic_id)
        await uow.patients.record_health_read(appointment.patient_id, read_by=reader.subject, role=reader.role.value)
        await uow.commit()
    return ScreeningRecord(appointment=appointment, questions=questions)


async def erase_patient(uow: BookingUnitOfWork, *, patient_id: UUID, now: datetime) -> Patient:
    """Personal and health data removed, appointments kept anonymised, and everyone told."""
    async with uow:
        patient = await uow.patients.get(patient_id, for_update=True)
        if patient.erased:
            return patient
        erased = patient.erase(now=now)
        await uow.patients.save(erased)
        await uow.patients.forget_screening_answers(patient_id)
        await uow.patients.forget_announced_contact(patient_id)
        await leave_all(uow, patient_id=patient_id)
        uow.outbox.add(catalogue.PatientErased(patient_id=patient_id, erased_at=now))
        await uow.commit()
    return erased
