"""Patients as booking knows them at first booking: contact details and consent (no password)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Self
from uuid import UUID, uuid4

from booking.domain.clinics import InvalidPhone, normalised_phone
from clinic_shared.errors import InvalidInput

Channel = Literal["email", "sms"]

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
        )
