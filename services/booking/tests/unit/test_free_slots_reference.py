"""`free_slots` skips through busy periods for speed; on random calendars it must give exactly what
checking every start against every busy period gives, across the clocks changing too."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from booking.availability import (
    ClinicCalendar,
    DateRange,
    Period,
    Phases,
    PractitionerCalendar,
    ResourceCalendar,
    Resources,
    Slot,
    check_start,
    free_slots,
)
from booking.domain import WEEKDAYS, OpeningHours, OpeningInterval
from clinic_shared.errors import InvalidInput

pytestmark = pytest.mark.unit

MINUTE = timedelta(minutes=1)
# Searches around both clock changes of 2026 in Amsterdam (29 March and 25 October), and in UTC.
ZONES_AND_DAYS = (
    (ZoneInfo("Europe/Amsterdam"), date(2026, 3, 27)),
    (ZoneInfo("Europe/Amsterdam"), date(2026, 10, 23)),
    (ZoneInfo("UTC"), date(2026, 6, 5)),
)
SEARCH_DAYS = 5
# Working hours stay clear of the night the clocks change, so the reference can place them with a
# plain conversion; opening hours may span it (the grid then follows the clock change).
WORK_BOUNDS = [time(hour, minute) for hour in range(5, 23) for minute in (0, 30)]
OPEN_BOUNDS = [time(hour, minute) for hour in range(24) for minute in (0, 15, 30, 45)]
ALWAYS = DateRange(date(2026, 1, 1), date(2026, 12, 31))


def _random_calendar(rng: random.Random) -> tuple[ClinicCalendar, Phases, Resources, date, UUID | None]:
    zone, first_day = rng.choice(ZONES_AND_DAYS)
    clinic = ClinicCalendar(
        timezone=zone,
        opening_hours=OpeningHours.of({day: _opening(rng) for day in WEEKDAYS}),
        closures=tuple(_closures(rng, first_day)),
        grid=rng.choice((5, 10, 15, 20, 30, 45)) * MINUTE,
        min_notice=rng.choice((0, 60, 24 * 60)) * MINUTE,
        horizon=timedelta(days=rng.choice((3, 30))),
    )
    phases = Phases(
        numbing=rng.choice((0, 15, 30, 45)) * MINUTE,
        procedure=rng.choice((5, 15, 30, 45, 90)) * MINUTE,
        turnover=rng.choice((0, 10, 15, 30)) * MINUTE,
    )
    origin = datetime.combine(first_day - timedelta(days=1), time(), zone).astimezone(UTC)
    practitioners = tuple(
        PractitionerCalendar(
            practitioner_id=UUID(int=number),
            working_hours=OpeningHours.of({day: _intervals(rng, WORK_BOUNDS) for day in WEEKDAYS}).days,
            credentials=tuple(_closures(rng, first_day)) if rng.random() < 0.3 else (ALWAYS,),
            time_off=tuple(_periods(rng, origin, count=rng.randrange(3), longest=12 * 60)),
            busy=tuple(_periods(rng, origin, count=rng.randrange(25), longest=120)),
        )
        for number in rng.sample(range(1, 10**6), rng.randrange(1, 5))
    )
    rooms, devices = (
        tuple(
            ResourceCalendar(UUID(int=rng.randrange(1, 10**6)), tuple(_periods(rng, origin, count=rng.randrange(25))))
            for _ in range(rng.choice((0, 1, 2, 2, 3)))
        )
        for _ in range(2)
    )
    named = rng.choice((None, rng.choice(practitioners).practitioner_id))
    return clinic, phases, Resources(practitioners, rooms, devices), first_day, named


def _opening(rng: random.Random) -> list[OpeningInterval]:
    # Often round the clock, so starts fall in the hour the clocks skip or repeat.
    return [OpeningInterval(time(0), time(23, 45))] if rng.random() < 0.4 else _intervals(rng, OPEN_BOUNDS)


def _intervals(rng: random.Random, bounds: list[time]) -> list[OpeningInterval]:
    picked = sorted(rng.sample(bounds, 2 * rng.choice((0, 1, 1, 1, 2))))
    return [OpeningInterval(opens, closes) for opens, closes in zip(picked[::2], picked[1::2], strict=True)]


def _closures(rng: random.Random, first_day: date) -> list[DateRange]:
    ranges = []
    for _ in range(rng.choice((0, 1, 1, 2))):
        first = first_day + timedelta(days=rng.randrange(-3, SEARCH_DAYS + 1))
        ranges.append(DateRange(first, first + timedelta(days=rng.randrange(0, 4))))
    return ranges


def _periods(rng: random.Random, origin: datetime, *, count: int, longest: int = 240) -> list[Period]:
    periods = []
    for _ in range(count):
        start = origin + rng.randrange(0, (SEARCH_DAYS + 2) * 24 * 12) * 5 * MINUTE
        periods.append(Period(start, start + rng.randrange(0, longest // 5 + 1) * 5 * MINUTE))
    return periods


def _reference(
    clinic: ClinicCalendar, phases: Phases, resources: Resources, first_day: date, now: datetime, named: UUID | None
) -> list[Slot]:
    """Every 5 minutes of the search, as a start `check_start` accepts, against every busy period."""
    zone = clinic.timezone
    last_day = first_day + timedelta(days=SEARCH_DAYS - 1)
    at = datetime.combine(first_day - timedelta(days=1), time(), UTC)
    slots = []
    while at < datetime.combine(last_day + timedelta(days=2), time(), UTC):
        day = at.astimezone(zone).date()
        if first_day <= day <= last_day and _acceptable(clinic, phases, at, now):
            rooms = [r for r in resources.rooms if not any(b.overlaps(phases.room(at)) for b in r.busy)]
            devices = [d for d in resources.devices if not any(b.overlaps(phases.device(at)) for b in d.busy)]
            treating = [
                p.practitioner_id
                for p in sorted(resources.practitioners, key=lambda p: p.practitioner_id)
                if named in (None, p.practitioner_id) and _can_treat(p, phases.practitioner(at), day=day, zone=zone)
            ]
            if rooms and devices and treating:
                slots.append(Slot(at, at.astimezone(zone), tuple(treating)))
        at += 5 * MINUTE
    return slots


def _acceptable(clinic: ClinicCalendar, phases: Phases, start: datetime, now: datetime) -> bool:
    try:
        check_start(clinic=clinic, phases=phases, starts_at=start, now=now)
    except InvalidInput:
        return False
    return True


def _can_treat(practitioner: PractitionerCalendar, procedure: Period, *, day: date, zone: ZoneInfo) -> bool:
    shifts = [
        Period(
            datetime.combine(day, i.opens, zone).astimezone(UTC), datetime.combine(day, i.closes, zone).astimezone(UTC)
        )
        for i in practitioner.working_hours.get(WEEKDAYS[day.weekday()], ())
    ]
    return (
        any(day in credential for credential in practitioner.credentials)
        and any(shift.contains(procedure) for shift in shifts)
        and not any(blocked.overlaps(procedure) for blocked in (*practitioner.time_off, *practitioner.busy))
    )


@pytest.mark.parametrize("seed", range(0, 200, 50))
def test_free_slots_match_checking_every_start_against_every_busy_period(seed: int) -> None:
    for case in range(seed, seed + 50):
        rng = random.Random(case)
        clinic, phases, resources, first_day, named = _random_calendar(rng)
        now = datetime.combine(first_day, time(rng.randrange(24)), UTC) - timedelta(days=rng.randrange(3))
        found = free_slots(
            clinic=clinic,
            phases=phases,
            resources=resources,
            first_day=first_day,
            last_day=first_day + timedelta(days=SEARCH_DAYS - 1),
            now=now,
            practitioner_id=named,
        )
        assert found == _reference(clinic, phases, resources, first_day, now, named), f"random calendar {case}"
        if found:
            after, limit = rng.choice(found).starts_at - rng.choice((0, 1, 7)) * MINUTE, rng.randrange(1, 6)
            first_after = free_slots(
                clinic=clinic,
                phases=phases,
                resources=resources,
                first_day=first_day,
                last_day=first_day + timedelta(days=SEARCH_DAYS - 1),
                now=now,
                practitioner_id=named,
                after=after,
                limit=limit,
            )
            assert first_after == [slot for slot in found if slot.starts_at > after][:limit], f"random calendar {case}"
