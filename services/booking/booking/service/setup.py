"""Setting a clinic up for booking: rooms, devices, closures, treatments and practitioners."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from uuid import UUID, uuid4

from booking.adapters.uow import BookingUnitOfWork
from booking.domain.areas import Area
from booking.domain.clinics import OpeningHours
from booking.domain.resources import Closure, Resource, ResourceKind
from booking.domain.screening import Outcome, ScreeningQuestion, screen, valid_questions
from booking.domain.staff import Credential, Practitioner, PractitionerListing, Profession, TimeOff, TreatmentKind
from booking.domain.treatments import Treatment


async def add_resource(
    uow: BookingUnitOfWork, *, clinic_id: UUID, kind: ResourceKind, name: str, model: str | None = None
) -> Resource:
    resource = Resource(id=uuid4(), clinic_id=clinic_id, kind=kind, name=name.strip(), model=model)
    async with uow:
        await uow.clinics.get(clinic_id)
        await uow.setup.add_resource(resource)
        await uow.commit()
    return resource


async def list_resources(uow: BookingUnitOfWork, *, clinic_id: UUID, kind: ResourceKind) -> list[Resource]:
    async with uow:
        await uow.clinics.get(clinic_id)
        return await uow.setup.resources(clinic_id, kind)


async def close_clinic(
    uow: BookingUnitOfWork, *, clinic_id: UUID, first_day: date, last_day: date, reason: str | None
) -> Closure:
    closure = Closure(id=uuid4(), clinic_id=clinic_id, first_day=first_day, last_day=last_day, reason=reason)
    async with uow:
        await uow.clinics.get(clinic_id)
        await uow.setup.add_closure(closure)
        await uow.commit()
    return closure


async def list_closures(uow: BookingUnitOfWork, *, clinic_id: UUID, from_day: date) -> list[Closure]:
    async with uow:
        await uow.clinics.get(clinic_id)
        return await uow.setup.closures(clinic_id, from_day=from_day)


async def reopen_clinic(uow: BookingUnitOfWork, *, clinic_id: UUID, closure_id: UUID) -> bool:
    async with uow:
        removed = await uow.setup.remove_closure(clinic_id, closure_id)
        await uow.commit()
    return removed


async def set_screening(
    uow: BookingUnitOfWork, *, clinic_id: UUID, questions: list[ScreeningQuestion]
) -> tuple[ScreeningQuestion, ...]:
    checked = valid_questions(questions)
    async with uow:
        await uow.clinics.get(clinic_id)
        await uow.setup.set_screening(clinic_id, checked)
        await uow.commit()
    return checked


async def screening(uow: BookingUnitOfWork, *, clinic_id: UUID) -> tuple[ScreeningQuestion, ...]:
    async with uow:
        await uow.clinics.get(clinic_id)
        return await uow.setup.screening(clinic_id)


async def offer_treatment(
    uow: BookingUnitOfWork,
    *,
    clinic_id: UUID,
    name: str,
    numbing_minutes: int,
    procedure_minutes: Mapping[Area, int],
    turnover_minutes: int,
) -> Treatment:
    treatment = Treatment.offer(
        clinic_id=clinic_id,
        name=name,
        numbing_minutes=numbing_minutes,
        procedure_minutes=procedure_minutes,
        turnover_minutes=turnover_minutes,
    )
    async with uow:
        await uow.clinics.get(clinic_id)
        await uow.setup.add_treatment(treatment)
        await uow.commit()
    return treatment


async def list_treatments(uow: BookingUnitOfWork, *, clinic_id: UUID) -> list[Treatment]:
    async with uow:
        await uow.clinics.get(clinic_id)
        return await uow.setup.treatments(clinic_id)


async def register_practitioner(uow: BookingUnitOfWork, *, name: str, profession: Profession) -> Practitioner:
    practitioner = Practitioner.register(name=name, profession=profession)
    async with uow:
        await uow.practitioners.add(practitioner)
        await uow.commit()
    return practitioner


async def practitioners_at(uow: BookingUnitOfWork, *, clinic_id: UUID) -> list[PractitionerListing]:
    async with uow:
        await uow.read_without_transaction()
        await uow.clinics.get(clinic_id)
        return await uow.practitioners.listed_at(clinic_id)


async def check_screening(uow: BookingUnitOfWork, *, clinic_id: UUID, answers: Mapping[str, bool]) -> Outcome:
    """What the clinic's rule makes of these answers (`screen` raises for a call to the clinic);
    nothing is stored: booking stores answers only with a visit."""
    async with uow:
        await uow.read_without_transaction()
        await uow.clinics.get(clinic_id)
        questions = await uow.setup.screening(clinic_id)
    return screen(questions, answers)


async def find_practitioner(uow: BookingUnitOfWork, *, practitioner_id: UUID) -> Practitioner:
    async with uow:
        return await uow.practitioners.get(practitioner_id)


async def add_credential(
    uow: BookingUnitOfWork,
    *,
    practitioner_id: UUID,
    number: str,
    issuer: str,
    valid_from: date,
    valid_to: date,
    covers: frozenset[TreatmentKind],
) -> Practitioner:
    credential = Credential(
        id=uuid4(),
        number=number.strip(),
        issuer=issuer.strip(),
        valid_from=valid_from,
        valid_to=valid_to,
        covers=covers,
    )
    async with uow:
        practitioner = await uow.practitioners.get(practitioner_id)
        await uow.practitioners.add_credential(practitioner_id, credential)
        await uow.commit()
    return practitioner.credential_added(credential)


async def set_working_hours(
    uow: BookingUnitOfWork, *, practitioner_id: UUID, clinic_id: UUID, hours: OpeningHours
) -> Practitioner:
    async with uow:
        practitioner = await uow.practitioners.get(practitioner_id)
        await uow.clinics.get(clinic_id)
        await uow.practitioners.set_hours(practitioner_id, clinic_id, hours)
        await uow.commit()
    return practitioner.working_at(clinic_id, hours)


async def book_time_off(
    uow: BookingUnitOfWork, *, practitioner_id: UUID, starts_at: datetime, ends_at: datetime
) -> TimeOff:
    leave = TimeOff(id=uuid4(), starts_at=starts_at, ends_at=ends_at)
    async with uow:
        await uow.practitioners.get(practitioner_id)
        await uow.practitioners.add_time_off(practitioner_id, leave)
        await uow.commit()
    return leave
