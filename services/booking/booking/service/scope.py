"""Whose a visit, a course or a waitlist entry is, and where a practitioner works: read before a
request's body, so that who may act is decided before anything the caller sent is looked at. The use
case decides again, with the record in hand; this only answers an outsider early, and the same way
whatever they sent."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from booking.adapters.uow import BookingUnitOfWork
from booking.domain.staff import PractitionerNotFound


@dataclass(frozen=True)
class Owner:
    clinic_id: UUID
    patient_id: UUID


async def owner_of_appointment(uow: BookingUnitOfWork, *, appointment_id: UUID) -> Owner:
    async with uow:
        await uow.read_without_transaction()
        visit = await uow.appointments.get(appointment_id)
    return Owner(clinic_id=visit.clinic_id, patient_id=visit.patient_id)


async def owner_of_course(uow: BookingUnitOfWork, *, course_id: UUID) -> Owner:
    async with uow:
        await uow.read_without_transaction()
        course = await uow.appointments.course(course_id)
    return Owner(clinic_id=course.clinic_id, patient_id=course.patient_id)


async def owner_of_entry(uow: BookingUnitOfWork, *, entry_id: UUID) -> Owner:
    async with uow:
        await uow.read_without_transaction()
        entry = await uow.waitlist.get(entry_id)
    return Owner(clinic_id=entry.clinic_id, patient_id=entry.patient_id)


async def clinics_of_practitioner(uow: BookingUnitOfWork, *, practitioner_id: UUID) -> frozenset[UUID]:
    """Where the practitioner works; none for a practitioner who does not exist."""
    async with uow:
        await uow.read_without_transaction()
        try:
            practitioner = await uow.practitioners.get(practitioner_id)
        except PractitionerNotFound:
            return frozenset()
    return frozenset(practitioner.clinics)
