"""Clinics: address, time zone, phone, opening hours and the booking policy."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from functools import cache
from itertools import pairwise
from typing import Any, Literal, Self, get_args
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo, available_timezones

from booking.domain.areas import Area
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


class InvalidBookingPolicy(InvalidInput):
    code = "invalid_booking_policy"


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
    def of(cls, days: dict[Weekday, list[OpeningInterval]], *, field: str = "opening_hours") -> Self:
        """`field`: where the hours stand in the request, to name the day in an error ("" for the top)."""
        checked: dict[Weekday, tuple[OpeningInterval, ...]] = {}
        for day in WEEKDAYS:
            named = f"{field}.{day}" if field else day
            intervals = sorted(days.get(day, []), key=lambda interval: interval.opens)
            for interval in intervals:
                if interval.opens >= interval.closes:
                    raise InvalidOpeningHours(f"on {day} every interval must open before it closes", field=named)
            for earlier, later in pairwise(intervals):
                if later.opens < earlier.closes:
                    raise InvalidOpeningHours(f"opening hours overlap on {day}", field=named)
            if intervals:
                checked[day] = tuple(intervals)
        return cls(days=checked)


# Grids that tile an hour, so every hour of a day offers the same start minutes.
SLOT_GRIDS = (5, 10, 15, 20, 30, 60)


# Millimetres; the clinic adjusts them per area. Values outside a clinic's range are refused at completion.
DEFAULT_DEPTHS_MM: dict[Area, tuple[float, float]] = {
    "face": (0.5, 1.5),
    "neck": (0.25, 1.0),
    "decolletage": (0.25, 1.0),
    "hands": (0.25, 1.0),
}
MAX_DEPTH_MM = 3.0


@dataclass(frozen=True)
class BookingPolicy:
    """How patients may book online at a clinic, and what its practitioners may record."""

    slot_grid_minutes: int = 15
    min_notice_minutes: int = 120
    horizon_days: int = 90
    # Patients may cancel or reschedule online until this many hours before the visit.
    cancellation_cutoff_hours: int = 24
    needle_depth_mm: dict[Area, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_DEPTHS_MM))
    # Sessions of a course are this many weeks apart (start to start).
    course_min_weeks: int = 4
    course_max_weeks: int = 6

    def __post_init__(self) -> None:
        # Every area keeps a range: a clinic that sets only the face keeps the defaults elsewhere.
        object.__setattr__(self, "needle_depth_mm", {**DEFAULT_DEPTHS_MM, **self.needle_depth_mm})
        if not 1 <= self.course_min_weeks <= self.course_max_weeks <= 26:
            raise InvalidBookingPolicy(
                "the course window must satisfy 1 <= min <= max <= 26 weeks", field="booking_policy.course_min_weeks"
            )
        for area, (low, high) in self.needle_depth_mm.items():
            if not 0 < low < high <= MAX_DEPTH_MM:
                raise InvalidBookingPolicy(
                    f"the depth range for {area} must satisfy 0 < min < max <= {MAX_DEPTH_MM} mm",
                    field=f"booking_policy.needle_depth_mm.{area}",
                )
        if self.slot_grid_minutes not in SLOT_GRIDS:
            raise InvalidBookingPolicy(
                f"slot grid must be one of {', '.join(map(str, SLOT_GRIDS))} minutes",
                field="booking_policy.slot_grid_minutes",
            )
        for name, low, high in (
            ("min_notice_minutes", 0, 60 * 24 * 14),
            ("horizon_days", 1, 730),
            ("cancellation_cutoff_hours", 0, 24 * 14),
        ):
            if not low <= getattr(self, name) <= high:
                raise InvalidBookingPolicy(f"{name} must be between {low} and {high}", field=f"booking_policy.{name}")


def policy_changed(policy: BookingPolicy, changes: Mapping[str, Any]) -> BookingPolicy:
    """Apply only the given fields; depth ranges merge per area."""
    merged = dict(changes)
    if "needle_depth_mm" in merged:
        merged["needle_depth_mm"] = {**policy.needle_depth_mm, **merged["needle_depth_mm"]}
    return replace(policy, **merged)


@dataclass(frozen=True)
class Clinic:
    id: UUID
    name: str
    address: Address
    timezone: str
    phone: str
    opening_hours: OpeningHours
    policy: BookingPolicy = BookingPolicy()
    # Grows by one with every change; consumers' projections keep the highest they have seen.
    revision: int = 1

    @classmethod
    def register(
        cls,
        *,
        name: str,
        address: Address,
        timezone: str,
        phone: str,
        opening_hours: OpeningHours,
        policy: BookingPolicy | None = None,
    ) -> Self:
        return cls(
            id=uuid4(),
            name=name.strip(),
            address=address,
            timezone=valid_timezone(timezone),
            phone=normalised_phone(phone),
            opening_hours=opening_hours,
            policy=policy or BookingPolicy(),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def changed(
        self,
        *,
        name: str | None = None,
        address: Address | None = None,
        timezone: str | None = None,
        phone: str | None = None,
        opening_hours: OpeningHours | None = None,
        policy: BookingPolicy | None = None,
    ) -> Self:
        return replace(
            self,
            name=name.strip() if name is not None else self.name,
            address=address or self.address,
            timezone=valid_timezone(timezone) if timezone is not None else self.timezone,
            phone=normalised_phone(phone) if phone is not None else self.phone,
            opening_hours=opening_hours or self.opening_hours,
            policy=policy or self.policy,
            revision=self.revision + 1,
        )
