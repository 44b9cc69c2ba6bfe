"""Practitioners: who may treat, where, when, and with which credential."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal, Self, get_args
from uuid import UUID, uuid4

from booking.domain.clinics import OpeningHours
from clinic_shared.errors import InvalidInput, NotFound

Profession = Literal["dermatologist", "cosmetic_surgeon", "trained_professional"]
PROFESSIONS: tuple[Profession, ...] = get_args(Profession)
TreatmentKind = Literal["microneedling"]


class PractitionerNotFound(NotFound):
    code = "practitioner_not_found"


class InvalidCredential(InvalidInput):
    code = "invalid_credential"


class InvalidTimeOff(InvalidInput):
    code = "invalid_time_off"


class NotWorkingAtClinic(InvalidInput):
    code = "practitioner_not_at_clinic"


@dataclass(frozen=True)
class Credential:
    """A licence or certificate for a procedure, valid on the days from `valid_from` to `valid_to`."""

    id: UUID
    number: str
    issuer: str
    valid_from: date
    valid_to: date
    covers: frozenset[TreatmentKind]

    def __post_init__(self) -> None:
        if self.valid_to < self.valid_from:
            raise InvalidCredential("a credential cannot expire before it starts", field="valid_to")
        if not self.number.strip() or not self.issuer.strip():
            raise InvalidCredential("a credential needs its number and issuer", field="number")

    def valid_on(self, day: date, kind: TreatmentKind) -> bool:
        return kind in self.covers and self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class TimeOff:
    id: UUID
    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise InvalidTimeOff("give times with their UTC offset", field="starts_at")
        if self.ends_at <= self.starts_at:
            raise InvalidTimeOff("time off must end after it starts", field="ends_at")


@dataclass(frozen=True)
class PractitionerListing:
    """A practitioner as patients see them when they choose who treats them."""

    id: UUID
    name: str
    profession: Profession


@dataclass(frozen=True)
class Practitioner:
    id: UUID
    name: str
    profession: Profession
    credentials: tuple[Credential, ...] = ()
    # Weekly working hours (clinic local time) per clinic the practitioner works at.
    clinics: dict[UUID, OpeningHours] = field(default_factory=dict)

    @classmethod
    def register(cls, *, name: str, profession: Profession) -> Self:
        return cls(id=uuid4(), name=name.strip(), profession=profession)

    def credential_added(self, credential: Credential) -> Self:
        return replace(self, credentials=(*self.credentials, credential))

    def working_at(self, clinic_id: UUID, hours: OpeningHours) -> Self:
        return replace(self, clinics={**self.clinics, clinic_id: hours})

    def hours_at(self, clinic_id: UUID) -> OpeningHours:
        if clinic_id not in self.clinics:
            raise NotWorkingAtClinic("this practitioner does not work at this clinic", field="practitioner_id")
        return self.clinics[clinic_id]
