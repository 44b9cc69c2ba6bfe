"""When a microneedling visit can start: a room, a device and a licensed practitioner free together.

Pure: callers load the calendars and pass `now`. Instants are aware UTC datetimes, periods half-open; wall-clock
rules (opening and working hours, the start grid) become real instants here, where clock changes are handled.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import accumulate
from uuid import UUID
from zoneinfo import ZoneInfo

from booking.domain import WEEKDAYS, OpeningHours, OpeningInterval, Weekday
from clinic_shared.errors import InvalidInput

# Precision of the search for the moment the clocks change; zoneinfo offers no list of transitions.
_TICK = timedelta(microseconds=1)
_MINUTE = timedelta(minutes=1)
# The bounds of what blocks a resource that does not exist (a clinic without rooms): no start is ever free.
_EVER, _NEVER = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)


class StartNotAware(InvalidInput):
    code = "start_not_aware"


class StartTooSoon(InvalidInput):
    code = "start_too_soon"


class StartBeyondHorizon(InvalidInput):
    code = "start_beyond_horizon"


class StartOffGrid(InvalidInput):
    code = "start_off_grid"


class OutsideOpeningHours(InvalidInput):
    code = "outside_opening_hours"


class StartInDstGap(InvalidInput):
    code = "start_in_dst_gap"


class StartAmbiguous(InvalidInput):
    code = "start_ambiguous"


# One search (and one wait on the waitlist) covers at most this many days.
MAX_SEARCH_DAYS = 92


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    def overlaps(self, other: Period) -> bool:
        # Also right for empty periods, which overlap nothing.
        return max(self.start, other.start) < min(self.end, other.end)

    def contains(self, other: Period) -> bool:
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True)
class Phases:
    """A visit: numbing in a room, the procedure (practitioner, room, device), then room and device turnover."""

    numbing: timedelta
    procedure: timedelta
    turnover: timedelta

    @property
    def total(self) -> timedelta:
        return self.numbing + self.procedure + self.turnover

    def room(self, start: datetime) -> Period:
        return Period(start, start + self.total)

    def practitioner(self, start: datetime) -> Period:
        return Period(start + self.numbing, start + self.numbing + self.procedure)

    def device(self, start: datetime) -> Period:
        return Period(start + self.numbing, start + self.total)


@dataclass(frozen=True)
class DateRange:
    """Local dates, both ends included."""

    first: date
    last: date

    def __contains__(self, day: date) -> bool:
        return self.first <= day <= self.last


@dataclass(frozen=True)
class PractitionerCalendar:
    practitioner_id: UUID
    working_hours: Mapping[Weekday, tuple[OpeningInterval, ...]]
    credentials: tuple[DateRange, ...]
    time_off: tuple[Period, ...] = ()
    busy: tuple[Period, ...] = ()


@dataclass(frozen=True)
class ResourceCalendar:
    resource_id: UUID
    busy: tuple[Period, ...] = ()


@dataclass(frozen=True)
class ClinicCalendar:
    timezone: ZoneInfo
    opening_hours: OpeningHours
    closures: tuple[DateRange, ...] = ()
    grid: timedelta = timedelta(minutes=15)
    min_notice: timedelta = timedelta(hours=2)
    horizon: timedelta = timedelta(days=90)

    def __post_init__(self) -> None:
        # Starts are found by stepping through the grid, which only a positive grid ever finishes.
        if self.grid <= timedelta(0):
            raise ValueError("the start grid must be a positive duration")


@dataclass(frozen=True)
class Resources:
    practitioners: tuple[PractitionerCalendar, ...]
    rooms: tuple[ResourceCalendar, ...]
    devices: tuple[ResourceCalendar, ...]


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    local_start: datetime
    practitioner_ids: tuple[UUID, ...]


@dataclass(frozen=True)
class Allocation:
    practitioner_id: UUID
    room_id: UUID
    device_id: UUID


def free_slots(
    *,
    clinic: ClinicCalendar,
    phases: Phases,
    resources: Resources,
    first_day: date,
    last_day: date,
    now: datetime,
    practitioner_id: UUID | None = None,
    after: datetime | None = None,
    limit: int | None = None,
) -> list[Slot]:
    """Every start time, in order, at which a room, a device and at least one practitioner (the given one,
    when named) are free. Days run from `first_day` to `last_day` inclusive, in the clinic's local dates.
    `after` and `limit`: only starts later than `after`, and only the first `limit` of them."""
    bookable = _Bookable.of(resources, practitioner_id=practitioner_id, exclude=frozenset())
    offsets = _Offsets.of(phases)
    # Starts at which no room or no device is free, worked out once as intervals rather than per start.
    no_room_or_device = bookable.no_room_or_device(offsets)
    blocked_from, blocked_until = [lo for lo, _ in no_room_or_device], [hi for _, hi in no_room_or_device]
    zone = clinic.timezone
    earliest, latest = _booking_window(clinic, now=now)
    first_day = max(first_day, earliest.astimezone(zone).date())
    last_day = min(last_day, latest.astimezone(zone).date())
    slots: list[Slot] = []
    for day in (first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)):
        on_duty = bookable.on_duty(day, zone=zone)
        if not on_duty:
            continue
        for window in _opening_windows(clinic, day):
            first, last = max(window.start, earliest), min(window.end - offsets.total, latest)
            resume = first
            for start in _grid_instants(first, last, zone=zone, grid=clinic.grid):
                if after is not None and start <= after:
                    continue
                if start < resume:
                    continue  # the busy period that blocked an earlier start blocks this one too
                blocking = bisect_right(blocked_until, start)
                if blocking < len(blocked_until) and blocked_from[blocking] < start:
                    resume = blocked_until[blocking]
                    continue
                practitioner_ids, until = _treating(on_duty, start + offsets.numbing, start + offsets.treated)
                if not practitioner_ids:
                    resume = until - offsets.numbing
                    continue
                slots.append(Slot(start, start.astimezone(zone), practitioner_ids))
                if len(slots) == limit:
                    return slots
    return slots


def allocate(
    *,
    clinic: ClinicCalendar,
    phases: Phases,
    resources: Resources,
    starts_at: datetime,
    now: datetime,
    practitioner_id: UUID | None = None,
    exclude: frozenset[UUID] = frozenset(),
) -> Allocation | None:
    """The first free practitioner (in id order), room and device (in the order given) for this start,
    skipping ids in `exclude`, or None. Does not validate the start: call `check_start` first."""
    del now  # unused: allocate takes the same arguments as check_start, which it follows
    start = starts_at.astimezone(UTC)
    bookable = _Bookable.of(resources, practitioner_id=practitioner_id, exclude=exclude)
    on_duty = bookable.on_duty(start.astimezone(clinic.timezone).date(), zone=clinic.timezone)
    procedure = phases.practitioner(start)
    treating = next((p.practitioner_id for p in on_duty if p.can_treat(procedure)), None)
    room = _first_free(bookable.rooms, phases.room(start))
    device = _first_free(bookable.devices, phases.device(start))
    if treating is None or room is None or device is None:
        return None
    return Allocation(practitioner_id=treating, room_id=room, device_id=device)


def check_start(*, clinic: ClinicCalendar, phases: Phases, starts_at: datetime, now: datetime) -> None:
    """Refuse a start that can never be booked, whoever is free."""
    if starts_at.utcoffset() is None:
        raise StartNotAware("starts_at needs a UTC offset, e.g. 2026-05-04T09:30:00+02:00", field="starts_at")
    start = starts_at.astimezone(UTC)
    earliest, latest = _booking_window(clinic, now=now)
    if start < earliest:
        raise StartTooSoon(
            f"visits must be booked at least {clinic.min_notice // _MINUTE} minutes ahead", field="starts_at"
        )
    if start > latest:
        raise StartBeyondHorizon(f"visits can be booked at most {clinic.horizon.days} days ahead", field="starts_at")
    if _first_on_grid(start, zone=clinic.timezone, grid=clinic.grid) != start:
        raise StartOffGrid(
            f"visits start every {clinic.grid // _MINUTE} minutes, counted from midnight", field="starts_at"
        )
    day = start.astimezone(clinic.timezone).date()
    visit = phases.room(start)
    if not any(window.contains(visit) for window in _opening_windows(clinic, day)):
        raise OutsideOpeningHours("the clinic is closed then, or closes before the visit ends", field="starts_at")


def local_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive local wall-clock time, refusing one the clocks skip or show twice."""
    if local.tzinfo is not None:
        raise ValueError("local_to_utc takes a naive wall-clock time")
    instants = _instants_showing(local, zone)
    if not instants:
        raise StartInDstGap(f"{local:%Y-%m-%d %H:%M} does not exist: the clocks skip it", field="starts_at")
    if len(instants) > 1:
        raise StartAmbiguous(
            f"{local:%Y-%m-%d %H:%M} happens twice as the clocks go back: give the UTC offset too", field="starts_at"
        )
    return instants[0]


class _Timeline:
    """Busy periods sorted by start, for overlap checks in O(log n) instead of a scan per start."""

    def __init__(self, periods: Iterable[Period]) -> None:
        ordered = sorted((period for period in periods if period.start < period.end), key=lambda p: p.start)
        self.periods = tuple(ordered)
        self._starts = [period.start for period in ordered]
        # Periods may nest (time off around a visit), so the latest end so far, not the previous end, decides.
        self._latest_ends = list(accumulate((period.end for period in ordered), max))

    def busy_until(self, start: datetime, end: datetime) -> datetime | None:
        """None when [start, end) is free; else the latest end among the periods overlapping it. No
        period as long starting before that instant is free either, so a search can skip to it."""
        if start >= end:
            return None
        before_end = bisect_left(self._starts, end)
        if before_end and self._latest_ends[before_end - 1] > start:
            return self._latest_ends[before_end - 1]
        return None

    def is_free(self, period: Period) -> bool:
        return self.busy_until(period.start, period.end) is None


@dataclass(frozen=True)
class _Offsets:
    """A visit's phases as offsets from its start, added to plain datetimes at every start of a search."""

    numbing: timedelta  # the procedure starts: practitioner and device taken
    treated: timedelta  # the procedure ends: practitioner free again
    total: timedelta  # turnover done: room and device free again

    @classmethod
    def of(cls, phases: Phases) -> _Offsets:
        return cls(numbing=phases.numbing, treated=phases.numbing + phases.procedure, total=phases.total)


@dataclass(frozen=True)
class _OnDuty:
    practitioner_id: UUID
    shifts: tuple[Period, ...]
    blocked: _Timeline

    def can_treat(self, procedure: Period) -> bool:
        return self.busy_until(procedure.start, procedure.end) is None

    def busy_until(self, start: datetime, end: datetime) -> datetime | None:
        """None when free to treat over [start, end); else until when time off or a visit blocks it, or
        `start` itself outside the shifts (a later start may fit a shift: nothing to skip)."""
        # A loop rather than any(): this runs for every practitioner at every start of a search.
        for shift in self.shifts:
            if shift.start <= start and end <= shift.end:
                return self.blocked.busy_until(start, end)
        return start


@dataclass(frozen=True)
class _Bookable:
    practitioners: tuple[tuple[PractitionerCalendar, _Timeline], ...]
    rooms: tuple[tuple[UUID, _Timeline], ...]
    devices: tuple[tuple[UUID, _Timeline], ...]

    @classmethod
    def of(cls, resources: Resources, *, practitioner_id: UUID | None, exclude: frozenset[UUID]) -> _Bookable:
        def timelines(calendars: Iterable[ResourceCalendar]) -> tuple[tuple[UUID, _Timeline], ...]:
            return tuple((c.resource_id, _Timeline(c.busy)) for c in calendars if c.resource_id not in exclude)

        wanted = [
            p
            for p in resources.practitioners
            if p.practitioner_id not in exclude and practitioner_id in (None, p.practitioner_id)
        ]
        wanted.sort(key=lambda p: p.practitioner_id)
        return cls(
            practitioners=tuple((p, _Timeline((*p.time_off, *p.busy))) for p in wanted),
            rooms=timelines(resources.rooms),
            devices=timelines(resources.devices),
        )

    def on_duty(self, day: date, *, zone: ZoneInfo) -> tuple[_OnDuty, ...]:
        """Practitioners holding a valid credential on `day`, with their working hours that day."""
        on_duty = []
        for calendar, blocked in self.practitioners:
            if not any(day in credential for credential in calendar.credentials):
                continue
            shifts = _windows(calendar.working_hours.get(WEEKDAYS[day.weekday()], ()), day=day, zone=zone)
            if shifts:
                on_duty.append(_OnDuty(calendar.practitioner_id, shifts, blocked))
        return tuple(on_duty)

    def no_room_or_device(self, offsets: _Offsets) -> list[tuple[datetime, datetime]]:
        """The starts, as open intervals in order, at which every room or every device is busy."""
        rooms = _all_blocked([busy for _, busy in self.rooms], offset=timedelta(0), length=offsets.total)
        devices = _all_blocked(
            [busy for _, busy in self.devices], offset=offsets.numbing, length=offsets.total - offsets.numbing
        )
        return _merged(sorted(rooms + devices))


def _treating(on_duty: tuple[_OnDuty, ...], start: datetime, end: datetime) -> tuple[tuple[UUID, ...], datetime]:
    """Practitioners free over the procedure [start, end), and when none is, the earliest instant
    before which none can be."""
    free: list[UUID] = []
    until = _NEVER
    for practitioner in on_duty:
        busy_until = practitioner.busy_until(start, end)
        if busy_until is None:
            free.append(practitioner.practitioner_id)
        elif busy_until < until:
            until = busy_until
    return tuple(free), until


def _all_blocked(
    timelines: list[_Timeline], *, offset: timedelta, length: timedelta
) -> list[tuple[datetime, datetime]]:
    """Open intervals of the starts s at which [s + offset, s + offset + length) meets a busy period of
    every one of the timelines (all of time when there are none)."""
    blocked = [(_EVER, _NEVER)]
    for timeline in timelines:
        if length <= timedelta(0):
            return []  # an empty phase meets nothing
        # s is blocked by a busy period p exactly when p.start - offset - length < s < p.end - offset.
        mine = _merged([(p.start - offset - length, p.end - offset) for p in timeline.periods])
        blocked = _intersection(blocked, mine)
    return blocked


def _merged(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Open intervals sorted by start, merged where they overlap (touching ones leave their end free)."""
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in intervals:
        if merged and lo < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _intersection(
    a: list[tuple[datetime, datetime]], b: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    both, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            both.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return both


def _first_free(resources: Iterable[tuple[UUID, _Timeline]], period: Period) -> UUID | None:
    for resource_id, busy in resources:
        if busy.is_free(period):
            return resource_id
    return None


def _booking_window(clinic: ClinicCalendar, *, now: datetime) -> tuple[datetime, datetime]:
    now = now.astimezone(UTC)
    return now + clinic.min_notice, now + clinic.horizon


def _opening_windows(clinic: ClinicCalendar, day: date) -> tuple[Period, ...]:
    if any(day in closure for closure in clinic.closures):
        return ()
    return _windows(clinic.opening_hours.days.get(WEEKDAYS[day.weekday()], ()), day=day, zone=clinic.timezone)


def _windows(intervals: Iterable[OpeningInterval], *, day: date, zone: ZoneInfo) -> tuple[Period, ...]:
    """Wall-clock intervals of one local day as real periods in UTC."""
    periods = (
        Period(
            _bound_to_utc(datetime.combine(day, interval.opens), zone, closing=False),
            _bound_to_utc(datetime.combine(day, interval.closes), zone, closing=True),
        )
        for interval in intervals
    )
    return tuple(period for period in periods if period.start < period.end)


@lru_cache(maxsize=4096)  # every day of a search converts the same few bounds for every practitioner
def _bound_to_utc(wall: datetime, zone: ZoneInfo, *, closing: bool) -> datetime:
    # A bound the clocks skip (spring forward) moves to the moment they jump, the first real instant after
    # the gap: opening at 02:30 on that night means opening at 03:00. A bound the clocks show twice (fall
    # back) opens at its first occurrence and closes at its second, so the interval keeps every real
    # instant the clock shows between its bounds and no start in the repeated hour is lost.
    instants = _instants_showing(wall, zone)
    if instants:
        return instants[-1] if closing else instants[0]
    before, after = sorted(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
    return _offset_change(before, after, zone=zone)


def _instants_showing(wall: datetime, zone: ZoneInfo) -> tuple[datetime, ...]:
    """The UTC instants at which the local clock shows `wall`: none in a gap, two in a fold."""
    # zoneinfo maps a skipped wall time to a real instant showing another time, so only a round trip tells.
    candidates = {wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)}
    return tuple(sorted(at for at in candidates if at.astimezone(zone).replace(tzinfo=None) == wall))


def _offset_change(before: datetime, after: datetime, *, zone: ZoneInfo) -> datetime:
    """The first instant after `before` with the UTC offset of `after` (they differ by one clock change)."""
    offset = after.astimezone(zone).utcoffset()
    while after - before > _TICK:
        middle = before + (after - before) // 2
        if middle.astimezone(zone).utcoffset() == offset:
            after = middle
        else:
            before = middle
    return after


def _grid_instants(first: datetime, last: datetime, *, zone: ZoneInfo, grid: timedelta) -> Iterator[datetime]:
    """Real instants from `first` to `last` inclusive at which the local clock shows a grid time."""
    # Stepping through UTC, never through wall times, so no start lies in a gap or repeats in a fold.
    at = _first_on_grid(first, zone=zone, grid=grid)
    offset = at.astimezone(zone).utcoffset()
    while at <= last:
        yield at
        at += grid
        # Most steps keep the offset and so stay on the grid; only across a clock change is it searched afresh.
        if at.astimezone(zone).utcoffset() != offset:
            at = _first_on_grid(at - grid + _TICK, zone=zone, grid=grid)
            offset = at.astimezone(zone).utcoffset()


def _first_on_grid(at: datetime, *, zone: ZoneInfo, grid: timedelta) -> datetime:
    local = at.astimezone(zone)
    wall = local.replace(tzinfo=None)
    since_midnight = wall - datetime.combine(wall.date(), time())
    candidate = at + (-since_midnight) % grid
    if candidate.astimezone(zone).utcoffset() == local.utcoffset():
        return candidate
    # The clocks changed on the way; grid times continue from the new offset, which may come sooner.
    return _first_on_grid(_offset_change(at, candidate, zone=zone), zone=zone, grid=grid)
