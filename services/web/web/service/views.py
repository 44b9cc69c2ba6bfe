"""What the pages show, read from the APIs' answers: clinics, treatments, practitioners and free times,
with times in the clinic's zone and worded in the visitor's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time, get_timezone_name

AREAS = ("face", "neck", "decolletage", "hands")


@dataclass(frozen=True)
class Clinic:
    id: UUID
    name: str
    street: str
    city: str
    postal_code: str
    phone: str
    zone: ZoneInfo
    cancellation_cutoff_hours: int
    horizon_days: int

    @classmethod
    def of(cls, body: dict[str, Any]) -> Clinic:
        address, policy = body["address"], body["booking_policy"]
        street = ", ".join(part for part in (address["line1"], address.get("line2")) if part)
        return cls(
            id=UUID(body["id"]), name=body["name"], street=street, city=address["city"],
            postal_code=address["postal_code"], phone=body["phone"], zone=ZoneInfo(body["timezone"]),
            cancellation_cutoff_hours=int(policy["cancellation_cutoff_hours"]),
            horizon_days=int(policy["horizon_days"]),
        )  # fmt: skip

    def matches(self, words: str) -> bool:
        text = f"{self.name} {self.street} {self.city} {self.postal_code}".casefold()
        return all(word in text for word in words.casefold().split())

    def zone_name(self, locale: str) -> str:
        return str(get_timezone_name(self.zone, width="long", locale=locale))

    def today(self) -> date:
        return datetime.now(self.zone).date()


@dataclass(frozen=True)
class Treatment:
    id: UUID
    name: str
    numbing_minutes: int
    procedure_minutes: dict[str, int]
    turnover_minutes: int

    @classmethod
    def of(cls, body: dict[str, Any]) -> Treatment:
        return cls(
            id=UUID(body["id"]), name=body["name"], numbing_minutes=int(body["numbing_minutes"]),
            procedure_minutes={area: int(m) for area, m in body["procedure_minutes"].items()},
            turnover_minutes=int(body["turnover_minutes"]),
        )  # fmt: skip

    @property
    def areas(self) -> tuple[str, ...]:
        return tuple(area for area in AREAS if area in self.procedure_minutes)

    def visit_minutes(self, areas: tuple[str, ...]) -> int:
        """From arrival (numbing) to leaving; cleaning afterwards is the clinic's, not the patient's."""
        return self.numbing_minutes + sum(self.procedure_minutes[area] for area in areas)


@dataclass(frozen=True)
class Practitioner:
    id: UUID
    name: str
    profession: str

    @classmethod
    def of(cls, body: dict[str, Any]) -> Practitioner:
        return cls(id=UUID(body["id"]), name=body["name"], profession=body["profession"])


@dataclass(frozen=True)
class Question:
    key: str
    text: str

    @classmethod
    def of(cls, body: dict[str, Any]) -> Question:
        return cls(key=body["key"], text=body["text"])


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # aware, UTC
    local: datetime  # the clinic's wall-clock time

    @classmethod
    def of(cls, body: dict[str, Any], zone: ZoneInfo) -> Slot:
        starts_at = datetime.fromisoformat(body["starts_at"])
        return cls(starts_at=starts_at, local=starts_at.astimezone(zone))

    @property
    def value(self) -> str:
        return self.starts_at.isoformat()


@dataclass(frozen=True)
class Day:
    day: date
    free: int  # free start times that day


# Babel spends more on one date or time than the rest of its line of the page, and a page of free times
# words the same few days and times again and again: each wording is kept once made.
@lru_cache(maxsize=4096)
def day_text(day: date, pattern: str, locale: str) -> str:
    return str(format_date(day, pattern, locale=locale))


@lru_cache(maxsize=4096)
def _clock_text(hour: int, minute: int, locale: str) -> str:
    return str(format_time(time(hour, minute), "HH:mm", locale=locale))


def long_day(day: date, locale: str) -> str:
    """'Tuesday 15 December'."""
    return day_text(day, "EEEE d MMMM", locale)


def short_day(day: date, locale: str) -> str:
    """'Tue 15 Dec'."""
    return day_text(day, "EEE d MMM", locale)


def moment(local: datetime, locale: str) -> str:
    """'Tuesday 15 December, 10:30' in the clinic's zone (the caller passes a local time)."""
    return f"{long_day(local.date(), locale)}, {clock(local, locale)}"


def clock(local: datetime, locale: str) -> str:
    return _clock_text(local.hour, local.minute, locale)


def when(at: datetime, zone: ZoneInfo, locale: str) -> str:
    return str(format_datetime(at.astimezone(zone), "EEEE d MMMM y, HH:mm", locale=locale))


def days_from(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]
