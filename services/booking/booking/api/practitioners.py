"""Practitioner routes: who treats, their credentials, where and when they work, their time off."""

from __future__ import annotations

from typing import Annotated, Any, Self
from uuid import UUID

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from booking.api.clinics import OpeningHoursIn
from booking.api.common import (
    Admin,
    ClinicId,
    ClinicManager,
    PractitionerId,
    Strict,
    UnitOfWork,
    practitioner_caller,
)
from booking.domain.staff import Practitioner, Profession, TreatmentKind
from booking.service import setup as service
from clinic_shared.auth import STAFF_ROLES, Principal, Role
from clinic_shared.web import ERROR_RESPONSES, SaneDate, SaneDatetime, error_response

router = APIRouter(prefix="/practitioners", tags=["practitioners"], responses=ERROR_RESPONSES)
UNKNOWN: dict[int | str, dict[str, Any]] = {404: error_response("Unknown practitioner or clinic")}


class PractitionerIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    profession: Profession


class CredentialIn(Strict):
    number: str = Field(min_length=1, max_length=64)
    issuer: str = Field(min_length=1, max_length=120)
    valid_from: SaneDate
    valid_to: SaneDate = Field(description="for no expiry, a far date such as 2199-12-31")
    covers: list[TreatmentKind] = Field(default=["microneedling"], min_length=1)


class CredentialOut(CredentialIn):
    id: UUID


class PractitionerOut(BaseModel):
    id: UUID
    name: str
    profession: Profession
    credentials: list[CredentialOut]
    clinics: dict[UUID, OpeningHoursIn] = Field(description="weekly working hours per clinic")

    @classmethod
    def of(cls, practitioner: Practitioner) -> Self:
        return cls(
            id=practitioner.id,
            name=practitioner.name,
            profession=practitioner.profession,
            credentials=[
                CredentialOut(
                    id=c.id,
                    number=c.number,
                    issuer=c.issuer,
                    valid_from=c.valid_from,
                    valid_to=c.valid_to,
                    covers=sorted(c.covers),
                )
                for c in practitioner.credentials
            ],
            clinics={clinic: OpeningHoursIn.from_domain(hours) for clinic, hours in practitioner.clinics.items()},
        )


class ListedOut(BaseModel):
    id: UUID
    name: str
    profession: Profession


clinic_router = APIRouter(tags=["practitioners"], responses=ERROR_RESPONSES)


@clinic_router.get(
    "/clinics/{clinic_id}/practitioners",
    summary="Who treats at a clinic",
    responses={404: error_response("Unknown clinic")},
)
async def at_clinic(clinic_id: ClinicId, uow: UnitOfWork) -> list[ListedOut]:
    """Public: the names patients choose from (or "no preference"); credentials and hours are staff's."""
    return [
        ListedOut(id=p.id, name=p.name, profession=p.profession)
        for p in await service.practitioners_at(uow, clinic_id=clinic_id)
    ]


class TimeOffIn(Strict):
    starts_at: SaneDatetime
    ends_at: SaneDatetime


class TimeOffOut(TimeOffIn):
    id: UUID


@router.post("", status_code=status.HTTP_201_CREATED, summary="Register a practitioner")
async def register(body: PractitionerIn, uow: UnitOfWork, _: Admin) -> PractitionerOut:
    """A dermatologist, cosmetic surgeon or trained professional. Admins only."""
    return PractitionerOut.of(await service.register_practitioner(uow, name=body.name, profession=body.profession))


@router.get("/{practitioner_id}", summary="One practitioner", responses=UNKNOWN)
async def get(
    practitioner_id: PractitionerId, uow: UnitOfWork, _: Annotated[Principal, practitioner_caller(*STAFF_ROLES)]
) -> PractitionerOut:
    """For staff of a clinic the practitioner works at, and admins."""
    return PractitionerOut.of(await service.find_practitioner(uow, practitioner_id=practitioner_id))


@router.post(
    "/{practitioner_id}/credentials",
    status_code=status.HTTP_201_CREATED,
    summary="Record a credential",
    responses=UNKNOWN,
)
async def add_credential(
    practitioner_id: PractitionerId, body: CredentialIn, uow: UnitOfWork, _: Admin
) -> PractitionerOut:
    """Without a credential valid on the day of a visit, the practitioner is not offered for it."""
    practitioner = await service.add_credential(
        uow,
        practitioner_id=practitioner_id,
        number=body.number,
        issuer=body.issuer,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        covers=frozenset(body.covers),
    )
    return PractitionerOut.of(practitioner)


@router.put("/{practitioner_id}/clinics/{clinic_id}", summary="Set working hours at a clinic", responses=UNKNOWN)
async def set_hours(
    practitioner_id: PractitionerId,
    clinic_id: ClinicId,
    body: OpeningHoursIn,
    uow: UnitOfWork,
    principal: ClinicManager,
) -> PractitionerOut:
    """Weekly hours in the clinic's local time; this also makes the practitioner work at the clinic."""
    practitioner = await service.set_working_hours(
        uow, practitioner_id=practitioner_id, clinic_id=clinic_id, hours=body.to_domain(field="")
    )
    return PractitionerOut.of(practitioner)


@router.post(
    "/{practitioner_id}/time-off", status_code=status.HTTP_201_CREATED, summary="Book time off", responses=UNKNOWN
)
async def time_off(
    practitioner_id: PractitionerId,
    body: TimeOffIn,
    uow: UnitOfWork,
    _: Annotated[Principal, practitioner_caller(Role.CLINIC_MANAGER, Role.ADMIN)],
) -> TimeOffOut:
    """Admins, or managers of a clinic the practitioner works at: time off applies at every clinic."""
    leave = await service.book_time_off(
        uow, practitioner_id=practitioner_id, starts_at=body.starts_at, ends_at=body.ends_at
    )
    return TimeOffOut(id=leave.id, starts_at=leave.starts_at, ends_at=leave.ends_at)
