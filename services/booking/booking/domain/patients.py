"""Patients as booking knows them at first booking: contact details and consent (no password)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal, Self
from uuid import UUID, uuid4

from booking.domain.clinics import InvalidPhone, normalised_phone
from clinic_shared.errors import Conflict, InvalidInput, NotFound

Channel = Literal["email", "sms"]
Concern = Literal[
    "fine_lines_and_wrinkles",
    "acne_scars",
    "surgical_scars",
    "stretch_marks",
    "enlarged_pores",
    "uneven_texture",
    "dull_skin",
]
# Fitzpatrick skin types I-VI.
SkinType = Literal[1, 2, 3, 4, 5, 6]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidContact(InvalidInput):
    code = "invalid_contact"


class ConsentMissing(InvalidInput):
    code = "consent_missing"


@dataclass(frozen=True)
class Consent:
    """The patient accepted this version of the consent text at this time."""

    text_version: str
    given_at: datetime


class PatientNotFound(NotFound):
    code = "patient_not_found"


class PatientChangedConcurrently(Conflict):
    code = "patient_changed_concurrently"


class InvalidHealthDetails(InvalidInput):
    code = "invalid_health_details"


@dataclass(frozen=True)
class HealthDetails:
    """Health-related fields: only staff of a clinic the patient booked with may read them, and every
    read is recorded. Never in events or logs."""

    date_of_birth: date | None = None
    skin_type: SkinType | None = None
    concerns: tuple[Concern, ...] = ()

    def checked(self, *, today: date) -> HealthDetails:
        if self.date_of_birth is not None and not today.replace(year=today.year - 120) <= self.date_of_birth <= today:
            raise InvalidHealthDetails("this is not a plausible date of birth", field="patient.date_of_birth")
        return self


@dataclass(frozen=True)
class Patient:
    id: UUID
    display_name: str
    email: str | None
    phone: str | None
    preferred_channel: Channel
    locale: str
    care_messages_consent: bool
    marketing_consent: bool
    consent: Consent
    health: HealthDetails = HealthDetails()
    revision: int = 1
    erased_at: datetime | None = None

    @property
    def erased(self) -> bool:
        return self.erased_at is not None

    def erase(self, *, now: datetime) -> Self:
        """Personal and health data removed; the id stays so appointments remain, anonymised."""
        return replace(
            self,
            display_name="",
            email=None,
            phone=None,
            care_messages_consent=False,
            marketing_consent=False,
            health=HealthDetails(),
            revision=self.revision + 1,
            erased_at=now,
        )

    @classmethod
    def at_first_booking(
        cls,
        *,
        display_name: str,
        email: str | None,
        phone: str | None,
        preferred_channel: Channel,
        locale: str,
        care_messages_consent: bool,
        marketing_consent: bool,
        consent: Consent | None,
        health: HealthDetails | None = None,
    ) -> Self:
        if consent is None:
            raise ConsentMissing("the patient must accept the consent text to book", field="patient.consent")
        email = email.strip().lower() if email else None
        if email is not None and not _EMAIL.match(email):
            raise InvalidContact("this is not an e-mail address", field="patient.email")
        try:
            phone = normalised_phone(phone) if phone else None
        except InvalidPhone as error:
            raise InvalidContact(error.message, field="patient.phone") from error
        if (preferred_channel == "email" and email is None) or (preferred_channel == "sms" and phone is None):
            raise InvalidContact(f"give the {preferred_channel} contact you prefer", field="patient.preferred_channel")
        return cls(
            id=uuid4(),
            display_name=display_name.strip(),
            email=email,
            phone=phone,
            preferred_channel=preferred_channel,
            locale=locale,
            care_messages_consent=care_messages_consent,
            marketing_consent=marketing_consent,
            consent=consent,
            health=(health or HealthDetails()).checked(today=consent.given_at.date()),
        )

    def booking_again(self, details: Patient) -> Patient:
        """A returning patient books with their manage link: the details they give now (checked as at a
        first booking, in `details`) replace the old ones on the same record; health details given now
        replace the old ones only when any were given."""
        if self.erased:
            raise PatientNotFound("this patient's record was erased; book as a new patient", field="patient")
        given_health = details.health != HealthDetails()
        return replace(
            details,
            id=self.id,
            revision=self.revision + 1,
            health=details.health if given_health else self.health,
        )
