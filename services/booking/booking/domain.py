"""Booking's rules and entities. No framework imports: FastAPI, SQLAlchemy and aio-pika stay outside."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import time
from functools import cache
from itertools import pairwise
from typing import Literal, Self, get_args
from uuid import UUID, uuid4
from zoneinfo import available_timezones

from clinic_shared.errors import Conflict, InvalidInput, NotFound

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)

_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class ClinicNotFound(NotFound):
    code = "clinic_not_found"


class ClinicNameTaken(Conflict):
    code = "clinic_name_taken"


class ClinicChangedConcurrently(Conflict):
    code = "clinic_changed_concurrently"


class UnknownTimezone(InvalidInput):
    code = "unknown_timezone"


class InvalidPhone(InvalidInput):
    code = "invalid_phone"


class InvalidOpeningHours(InvalidInput):
    code = "invalid_opening_hours"


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def valid_timezone(name: str) -> str:
    # `available_timezones` lists IANA keys only; ZoneInfo() alone would also accept file paths.
    if name not in _timezones():
        raise UnknownTimezone(f"{name!r} is not an IANA time zone (e.g. Europe/Amsterdam)", field="timezone")
    return name


def normalised_phone(raw: str) -> str:
    """A clinic's phone in E.164 (+31201234567): how SMS providers and patients' phones dial it."""
    phone = _PHONE_SEPARATORS.sub("", raw)
    if not _E164.match(phone):
        raise InvalidPhone("phone must be an international number such as +31 20 123 4567", field="phone")
    return phone


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str | None = None


@dataclass(frozen=True)
class OpeningInterval:
    opens: time
    closes: time


@dataclass(frozen=True)
class OpeningHours:
    """Per weekday, the intervals the clinic is open (local time). A day without intervals is closed."""

    days: dict[Weekday, tuple[OpeningInterval, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, days: dict[Weekday, list[OpeningInterval]]) -> Self:
        checked: dict[Weekday, tuple[OpeningInterval, ...]] = {}
        for day in WEEKDAYS:
            intervals = sorted(days.get(day, []), key=lambda interval: interval.opens)
            for interval in intervals:
                if interval.opens >= interval.closes:
                    raise InvalidOpeningHours(
                        f"on {day} a clinic must open before it closes", field=f"opening_hours.{day}"
                    )
            for earlier, later in pairwise(intervals):
                if later.opens < earlier.closes:
                    raise InvalidOpeningHours(f"opening hours overlap on {day}", field=f"opening_hours.{day}")
            if intervals:
                checked[day] = tuple(intervals)
        return cls(days=checked)


@dataclass(frozen=True)
class Clinic:
    id: UUID
    name: str
    address: Address
    timezone: str
    phone: str
    opening_hours: OpeningHours
    # Grows by one with every change; consumers' projections keep the highest they have seen.
    revision: int = 1

    @classmethod
    def register(cls, *, name: str, address: Address, timezone: str, phone: str, opening_hours: OpeningHours) -> Self:
        return cls(
            id=uuid4(),
            name=name.strip(),
            address=address,
            timezone=valid_timezone(timezone),
            phone=normalised_phone(phone),
            opening_hours=opening_hours,
        )

    def changed(
        self,
        *,
        name: str | None = None,
        address: Address | None = None,
        timezone: str | None = None,
        phone: str | None = None,
        opening_hours: OpeningHours | None = None,
    ) -> Self:
        return replace(
            self,
            name=name.strip() if name is not None else self.name,
            address=address or self.address,
            timezone=valid_timezone(timezone) if timezone is not None else self.timezone,
            phone=normalised_phone(phone) if phone is not None else self.phone,
            opening_hours=opening_hours or self.opening_hours,
            revision=self.revision + 1,
        )
