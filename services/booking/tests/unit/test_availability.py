from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from booking.availability import (
    Allocation,
    ClinicCalendar,
    DateRange,
    OutsideOpeningHours,
    Period,
    Phases,
    PractitionerCalendar,
    ResourceCalendar,
    Resources,
    Slot,
    StartAmbiguous,
    StartBeyondHorizon,
    StartInDstGap,
    StartNotAware,
    StartOffGrid,
    StartTooSoon,
    allocate,
    check_start,
    free_slots,
    local_to_utc,
)
from booking.domain import WEEKDAYS, OpeningHours, OpeningInterval, Weekday

pytestmark = pytest.mark.unit

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MONDAY = date(2026, 5, 4)
SATURDAY, SUNDAY = date(2026, 5, 9), date(2026, 5, 10)
NOW = datetime(2026, 5, 1, 6, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
# 30 minutes numbing, 45 procedure, 15 turnover: a visit occupies its room for 90 minutes.
PHASES = Phases(numbing=30 * MINUTE, procedure=45 * MINUTE, turnover=15 * MINUTE)
NINE_TO_FIVE = (OpeningInterval(time(9), time(17)),)
WORKING_DAYS: dict[Weekday, tuple[OpeningInterval, ...]] = {day: NINE_TO_FIVE for day in WEEKDAYS if day != "sunday"}
CLINIC = ClinicCalendar(
    timezone=AMSTERDAM, opening_hours=OpeningHours(days=dict(WORKING_DAYS)), min_notice=timedelta(hours=2)
)
THIS_YEAR = DateRange(date(2026, 1, 1), date(2026, 12, 31))

PRACTITIONER = UUID(int=1)
OTHER_PRACTITIONER = UUID(int=2)
ROOM, OTHER_ROOM = UUID(int=11), UUID(int=12)
DEVICE, OTHER_DEVICE = UUID(int=21), UUID(int=22)

# With the clinic open 09:00-17:00 and 90-minute visits, the last start is 15:30.
WHOLE_DAY = [f"{minute // 60:02}:{minute % 60:02}" for minute in range(9 * 60, 15 * 60 + 31, 15)]


def _at(day: date, clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=AMSTERDAM).astimezone(UTC)


def _between(day: date, start: str, end: str) -> Period:
    return Period(_at(day, start), _at(day, end))


def _practitioner(
    practitioner_id: UUID = PRACTITIONER,
    *,
    working_hours: Mapping[Weekday, tuple[OpeningInterval, ...]] = WORKING_DAYS,
    credentials: tuple[DateRange, ...] = (THIS_YEAR,),
    time_off: tuple[Period, ...] = (),
    busy: tuple[Period, ...] = (),
) -> PractitionerCalendar:
    return PractitionerCalendar(practitioner_id, working_hours, credentials, time_off, busy)


def _resources(
    *practitioners: PractitionerCalendar,
    rooms: tuple[ResourceCalendar, ...] = (ResourceCalendar(ROOM),),
    devices: tuple[ResourceCalendar, ...] = (ResourceCalendar(DEVICE),),
) -> Resources:
    return Resources(practitioners=practitioners or (_practitioner(),), rooms=rooms, devices=devices)


def _search(
    resources: Resources,
    *,
    clinic: ClinicCalendar = CLINIC,
    phases: Phases = PHASES,
    days: tuple[date, date] = (MONDAY, MONDAY),
    now: datetime = NOW,
    practitioner_id: UUID | None = None,
) -> list[Slot]:
    return free_slots(
        clinic=clinic,
        phases=phases,
        resources=resources,
        first_day=days[0],
        last_day=days[1],
        now=now,
        practitioner_id=practitioner_id,
    )


def _clocks(slots: list[Slot]) -> list[str]:
    return [f"{slot.local_start:%H:%M}" for slot in slots]


def _except(*clocks: str) -> list[str]:
    return [clock for clock in WHOLE_DAY if clock not in clocks]


def test_a_visit_holds_the_room_throughout_the_practitioner_for_the_procedure_and_the_device_until_cleaned() -> None:
    start = _at(MONDAY, "10:00")
    assert PHASES.total == 90 * MINUTE
    assert PHASES.room(start) == _between(MONDAY, "10:00", "11:30")
    assert PHASES.practitioner(start) == _between(MONDAY, "10:30", "11:15")
    assert PHASES.device(start) == _between(MONDAY, "10:30", "11:30")


def test_periods_that_only_touch_do_not_overlap() -> None:
    morning = _between(MONDAY, "09:00", "10:00")
    assert not morning.overlaps(_between(MONDAY, "10:00", "11:00"))
    assert morning.overlaps(_between(MONDAY, "09:59", "11:00"))
    assert _between(MONDAY, "09:00", "12:00").overlaps(_between(MONDAY, "10:00", "10:15"))


def test_with_everything_free_every_grid_start_that_ends_by_closing_is_offered_with_its_local_time() -> None:
    slots = _search(_resources())
    assert _clocks(slots) == WHOLE_DAY
    assert slots[0].starts_at == datetime(2026, 5, 4, 7, 0, tzinfo=UTC)
    assert slots[0].local_start.tzinfo == AMSTERDAM
    assert all(slot.practitioner_ids == (PRACTITIONER,) for slot in slots)


def test_the_practitioner_starts_a_second_visit_in_another_room_while_the_first_patients_cream_works() -> None:
    first = _at(MONDAY, "10:00")
    resources = _resources(
        _practitioner(busy=(PHASES.practitioner(first),)),
        rooms=(ResourceCalendar(ROOM, busy=(PHASES.room(first),)), ResourceCalendar(OTHER_ROOM)),
        devices=(ResourceCalendar(DEVICE, busy=(PHASES.device(first),)), ResourceCalendar(OTHER_DEVICE)),
    )
    # The second patient is numbed from 10:45 while the first is treated, and treated from 11:15.
    second = _at(MONDAY, "10:45")
    starts = [slot.starts_at for slot in _search(resources)]
    assert second in starts
    assert _at(MONDAY, "10:30") not in starts
    allocation = allocate(clinic=CLINIC, phases=PHASES, resources=resources, starts_at=second, now=NOW)
    assert allocation == Allocation(practitioner_id=PRACTITIONER, room_id=OTHER_ROOM, device_id=OTHER_DEVICE)


def test_a_device_being_cleaned_or_used_blocks_every_visit_whose_procedure_or_turnover_needs_it() -> None:
    resources = _resources(devices=(ResourceCalendar(DEVICE, busy=(_between(MONDAY, "11:00", "11:15"),)),))
    assert _clocks(_search(resources)) == _except("09:45", "10:00", "10:15", "10:30")


def test_a_busy_room_blocks_every_visit_that_would_need_it_from_numbing_to_turnover() -> None:
    resources = _resources(rooms=(ResourceCalendar(ROOM, busy=(_between(MONDAY, "11:00", "11:15"),)),))
    assert _clocks(_search(resources)) == _except("09:45", "10:00", "10:15", "10:30", "10:45", "11:00")


def test_a_visit_that_fits_exactly_between_two_others_in_the_room_is_offered() -> None:
    # 90-minute visits: the room is free from 10:00 to 11:30 and nothing longer.
    gap = (_between(MONDAY, "09:00", "10:00"), _between(MONDAY, "11:30", "13:00"))
    clocks = _clocks(_search(_resources(rooms=(ResourceCalendar(ROOM, busy=gap),))))
    assert [clock for clock in clocks if clock < "13:00"] == ["10:00"]


def test_a_second_room_keeps_the_day_open_when_the_first_is_busy() -> None:
    busy_room = ResourceCalendar(ROOM, busy=(_between(MONDAY, "09:00", "17:00"),))
    assert _clocks(_search(_resources(rooms=(busy_room, ResourceCalendar(OTHER_ROOM))))) == WHOLE_DAY


def test_a_practitioner_busy_at_another_clinic_is_not_offered_during_that_visit() -> None:
    elsewhere = _between(MONDAY, "13:00", "14:00")
    slots = _search(_resources(_practitioner(busy=(elsewhere,))))
    # Procedures run from start + 30 to start + 75 minutes.
    assert _clocks(slots) == _except("12:00", "12:15", "12:30", "12:45", "13:00", "13:15")


def test_an_expired_credential_keeps_the_practitioner_off_that_day_and_a_renewal_brings_them_back() -> None:
    wednesday = MONDAY + timedelta(days=2)
    # The first credential ends on Monday (inclusive); the renewal only starts on Wednesday.
    credentials = (DateRange(date(2025, 5, 4), MONDAY), DateRange(wednesday, date(2027, 5, 5)))
    slots = _search(_resources(_practitioner(credentials=credentials)), days=(MONDAY, wednesday))
    assert {slot.local_start.date() for slot in slots} == {MONDAY, wednesday}


def test_time_off_blocks_the_procedure_but_not_numbing_or_turnover() -> None:
    slots = _search(_resources(_practitioner(time_off=(_between(MONDAY, "12:00", "13:00"),))))
    assert _clocks(slots) == _except("11:00", "11:15", "11:30", "11:45", "12:00", "12:15")


def test_time_off_spanning_several_days_blocks_all_of_them() -> None:
    week_off = Period(_at(MONDAY, "00:00"), _at(MONDAY + timedelta(days=3), "00:00"))
    slots = _search(_resources(_practitioner(time_off=(week_off,))), days=(MONDAY, MONDAY + timedelta(days=3)))
    assert {slot.local_start.date() for slot in slots} == {MONDAY + timedelta(days=3)}


def test_a_visit_booked_inside_time_off_does_not_hide_the_rest_of_the_time_off() -> None:
    calendar = _practitioner(time_off=(_between(MONDAY, "09:00", "17:00"),), busy=(_between(MONDAY, "09:30", "09:45"),))
    assert _search(_resources(calendar)) == []


def test_working_hours_narrower_than_opening_hours_bound_the_procedure_while_numbing_may_start_before() -> None:
    late_shift: dict[Weekday, tuple[OpeningInterval, ...]] = {"monday": (OpeningInterval(time(11), time(14)),)}
    slots = _search(_resources(_practitioner(working_hours=late_shift)))
    assert _clocks(slots) == ["10:30", "10:45", "11:00", "11:15", "11:30", "11:45", "12:00", "12:15", "12:30", "12:45"]


def test_no_slots_on_closure_days_and_the_day_after_reopens() -> None:
    tuesday, thursday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=3)
    clinic = replace(CLINIC, closures=(DateRange(tuesday, MONDAY + timedelta(days=2)),))
    slots = _search(_resources(), clinic=clinic, days=(MONDAY, thursday))
    assert {slot.local_start.date() for slot in slots} == {MONDAY, thursday}


def test_no_slots_on_a_weekday_without_opening_hours() -> None:
    every_day = _practitioner(working_hours=dict.fromkeys(WEEKDAYS, NINE_TO_FIVE))
    assert _search(_resources(every_day), days=(SATURDAY, SATURDAY))
    assert _search(_resources(every_day), days=(SUNDAY, SUNDAY)) == []


def test_the_first_slot_honours_minimum_notice_and_the_last_the_horizon_both_inclusive() -> None:
    now = _at(MONDAY, "09:00")
    clinic = replace(CLINIC, horizon=timedelta(days=10))
    slots = _search(_resources(), clinic=clinic, days=(date(2026, 5, 1), date(2026, 5, 31)), now=now)
    assert slots[0].starts_at == _at(MONDAY, "11:00")
    assert slots[-1].starts_at == _at(date(2026, 5, 14), "09:00")


def test_starts_lie_on_the_grid_counted_from_midnight_even_when_the_clinic_opens_off_the_grid() -> None:
    clinic = replace(
        CLINIC, grid=20 * MINUTE, opening_hours=OpeningHours(days={"monday": (OpeningInterval(time(9, 10), time(11)),)})
    )
    short = Phases(numbing=0 * MINUTE, procedure=20 * MINUTE, turnover=10 * MINUTE)
    assert _clocks(_search(_resources(), clinic=clinic, phases=short)) == ["09:20", "09:40", "10:00", "10:20"]


@pytest.mark.parametrize("grid", [timedelta(0), -15 * MINUTE])
def test_a_clinic_calendar_refuses_a_grid_that_would_never_advance(grid: timedelta) -> None:
    with pytest.raises(ValueError, match="grid"):
        replace(CLINIC, grid=grid)


def test_slots_list_every_free_practitioner_sorted_and_the_filter_keeps_only_the_named_one() -> None:
    busy = _practitioner(OTHER_PRACTITIONER, busy=(_between(MONDAY, "09:00", "12:00"),))
    resources = _resources(busy, _practitioner())
    everyone = {slot.local_start.strftime("%H:%M"): slot.practitioner_ids for slot in _search(resources)}
    assert everyone["09:00"] == (PRACTITIONER,)
    assert everyone["12:00"] == (PRACTITIONER, OTHER_PRACTITIONER)
    named = _search(resources, practitioner_id=OTHER_PRACTITIONER)
    assert _clocks(named)[0] == "11:30"
    assert all(slot.practitioner_ids == (OTHER_PRACTITIONER,) for slot in named)


def test_allocate_picks_a_free_room_and_device_and_skips_excluded_ids() -> None:
    start = _at(MONDAY, "10:00")
    resources = _resources(
        _practitioner(),
        _practitioner(OTHER_PRACTITIONER),
        rooms=(ResourceCalendar(ROOM, busy=(_between(MONDAY, "10:00", "10:15"),)), ResourceCalendar(OTHER_ROOM)),
        devices=(ResourceCalendar(DEVICE), ResourceCalendar(OTHER_DEVICE)),
    )

    def allocated(*, practitioner_id: UUID | None = None, exclude: frozenset[UUID] = frozenset()) -> Allocation | None:
        return allocate(
            clinic=CLINIC,
            phases=PHASES,
            resources=resources,
            starts_at=start,
            now=NOW,
            practitioner_id=practitioner_id,
            exclude=exclude,
        )

    assert allocated() == Allocation(PRACTITIONER, OTHER_ROOM, DEVICE)
    assert allocated(exclude=frozenset({PRACTITIONER, DEVICE})) == Allocation(
        OTHER_PRACTITIONER, OTHER_ROOM, OTHER_DEVICE
    )
    assert allocated(practitioner_id=OTHER_PRACTITIONER) == Allocation(OTHER_PRACTITIONER, OTHER_ROOM, DEVICE)
    assert allocated(exclude=frozenset({OTHER_ROOM})) is None
    assert allocated(practitioner_id=PRACTITIONER, exclude=frozenset({PRACTITIONER})) is None


def test_allocate_passes_over_a_practitioner_treating_someone_else_at_that_time() -> None:
    start = _at(MONDAY, "10:00")
    treating = _practitioner(busy=(_between(MONDAY, "11:00", "11:30"),))
    resources = _resources(treating, _practitioner(OTHER_PRACTITIONER))
    allocation = allocate(clinic=CLINIC, phases=PHASES, resources=resources, starts_at=start, now=NOW)
    assert allocation == Allocation(OTHER_PRACTITIONER, ROOM, DEVICE)


def test_allocate_finds_nobody_when_the_only_practitioner_lacks_a_credential_that_day() -> None:
    expired = _practitioner(credentials=(DateRange(date(2025, 1, 1), MONDAY - timedelta(days=1)),))
    start = _at(MONDAY, "10:00")
    assert allocate(clinic=CLINIC, phases=PHASES, resources=_resources(expired), starts_at=start, now=NOW) is None


@pytest.mark.parametrize(
    ("starts_at", "error", "code"),
    [
        pytest.param(datetime(2026, 5, 4, 10, 0), StartNotAware, "start_not_aware", id="naive"),
        pytest.param(NOW - timedelta(days=1), StartTooSoon, "start_too_soon", id="past"),
        pytest.param(NOW + 105 * MINUTE, StartTooSoon, "start_too_soon", id="within-notice"),
        pytest.param(NOW + timedelta(days=90, minutes=15), StartBeyondHorizon, "start_beyond_horizon", id="horizon"),
        pytest.param(_at(MONDAY, "10:05"), StartOffGrid, "start_off_grid", id="off-grid"),
        pytest.param(_at(MONDAY, "08:45"), OutsideOpeningHours, "outside_opening_hours", id="before-opening"),
        pytest.param(_at(MONDAY, "15:45"), OutsideOpeningHours, "outside_opening_hours", id="ends-after-closing"),
        pytest.param(_at(SUNDAY, "10:00"), OutsideOpeningHours, "outside_opening_hours", id="closed-weekday"),
        pytest.param(
            _at(MONDAY + timedelta(days=1), "10:00"), OutsideOpeningHours, "outside_opening_hours", id="closure"
        ),
    ],
)
def test_a_start_that_can_never_be_booked_is_refused_with_its_reason(
    starts_at: datetime, error: type[Exception], code: str
) -> None:
    clinic = replace(CLINIC, closures=(DateRange(MONDAY + timedelta(days=1), MONDAY + timedelta(days=1)),))
    with pytest.raises(error) as raised:
        check_start(clinic=clinic, phases=PHASES, starts_at=starts_at, now=NOW)
    assert getattr(raised.value, "field", None) == "starts_at"
    assert getattr(raised.value, "code", None) == code


@pytest.mark.parametrize(
    "starts_at",
    [_at(MONDAY, "09:00"), _at(MONDAY, "15:30"), _at(MONDAY, "10:15").astimezone(ZoneInfo("America/New_York"))],
)
def test_a_bookable_start_passes_the_check_whatever_its_offset(starts_at: datetime) -> None:
    check_start(clinic=CLINIC, phases=PHASES, starts_at=starts_at, now=NOW)


# Europe/Amsterdam, 2026: clocks jump 02:00 -> 03:00 on 29 March and fall back 03:00 -> 02:00 on 25 October.
SPRING_FORWARD, FALL_BACK = date(2026, 3, 29), date(2026, 10, 25)
NIGHT_CLINIC = ClinicCalendar(
    timezone=AMSTERDAM,
    opening_hours=OpeningHours(days={"sunday": (OpeningInterval(time(0), time(6)),)}),
    min_notice=timedelta(0),
)
# A visit as long as the grid, so a night has exactly (real time open / grid) starts.
QUARTER_HOUR_VISIT = Phases(numbing=5 * MINUTE, procedure=5 * MINUTE, turnover=5 * MINUTE)


def _night_search(day: date, clinic: ClinicCalendar = NIGHT_CLINIC) -> list[Slot]:
    around_the_clock = dict.fromkeys(WEEKDAYS, (OpeningInterval(time(0), time(23, 59)),))
    resources = _resources(_practitioner(working_hours=around_the_clock))
    return _search(resources, clinic=clinic, phases=QUARTER_HOUR_VISIT, days=(day, day), now=_week_before(day))


def _week_before(day: date) -> datetime:
    return datetime.combine(day - timedelta(days=7), time(), tzinfo=UTC)


def _assert_real_distinct_quarter_hours(slots: list[Slot]) -> None:
    instants = [slot.starts_at for slot in slots]
    assert len(set(instants)) == len(instants)
    assert all(later - earlier == 15 * MINUTE for earlier, later in pairwise(instants))
    assert all(slot.local_start.astimezone(UTC) == slot.starts_at for slot in slots)
    assert all(slot.local_start.minute % 15 == 0 for slot in slots)


def test_spring_forward_night_offers_no_start_in_the_skipped_hour_and_one_per_real_quarter_hour() -> None:
    slots = _night_search(SPRING_FORWARD)
    # Open 00:00 CET (23:00 UTC) to 06:00 CEST (04:00 UTC): five real hours, not six.
    assert (slots[0].starts_at, slots[-1].starts_at + 15 * MINUTE) == (
        datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 4, 0, tzinfo=UTC),
    )
    assert len(slots) == 5 * 4
    assert all(slot.local_start.hour != 2 for slot in slots)
    assert "03:00" in _clocks(slots)
    _assert_real_distinct_quarter_hours(slots)


def test_fall_back_night_offers_the_repeated_hour_twice_as_distinct_instants() -> None:
    slots = _night_search(FALL_BACK)
    # Open 00:00 CEST (22:00 UTC) to 06:00 CET (05:00 UTC): seven real hours.
    assert len(slots) == 7 * 4
    clocks = _clocks(slots)
    assert {clock for clock in clocks if clocks.count(clock) > 1} == {"02:00", "02:15", "02:30", "02:45"}
    repeated = [slot.local_start for slot in slots if slot.local_start.hour == 2]
    assert [moment.fold for moment in repeated] == [0, 0, 0, 0, 1, 1, 1, 1]
    _assert_real_distinct_quarter_hours(slots)


def test_both_occurrences_of_a_repeated_quarter_hour_pass_the_start_check() -> None:
    first, second = datetime(2026, 10, 25, 0, 15, tzinfo=UTC), datetime(2026, 10, 25, 1, 15, tzinfo=UTC)
    assert f"{first.astimezone(AMSTERDAM):%H:%M}" == f"{second.astimezone(AMSTERDAM):%H:%M}" == "02:15"
    for start in (first, second):
        check_start(clinic=NIGHT_CLINIC, phases=QUARTER_HOUR_VISIT, starts_at=start, now=_week_before(FALL_BACK))


def test_opening_inside_the_skipped_hour_opens_when_the_clocks_jump() -> None:
    clinic = replace(
        NIGHT_CLINIC, opening_hours=OpeningHours(days={"sunday": (OpeningInterval(time(2, 30), time(4)),)})
    )
    slots = _night_search(SPRING_FORWARD, clinic)
    assert slots[0].starts_at == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert _clocks(slots)[0] == "03:00"
    assert len(slots) == 4


def test_closing_inside_the_repeated_hour_closes_at_its_second_occurrence() -> None:
    clinic = replace(
        NIGHT_CLINIC, opening_hours=OpeningHours(days={"sunday": (OpeningInterval(time(1), time(2, 30)),)})
    )
    slots = _night_search(FALL_BACK, clinic)
    # 01:00 CEST (23:00 UTC) to the second 02:30, in CET (01:30 UTC).
    assert slots[-1].starts_at + 15 * MINUTE == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert len(slots) == 10


def test_opening_inside_the_repeated_hour_opens_at_its_first_occurrence() -> None:
    clinic = replace(
        NIGHT_CLINIC, opening_hours=OpeningHours(days={"sunday": (OpeningInterval(time(2, 30), time(4)),)})
    )
    slots = _night_search(FALL_BACK, clinic)
    # The first 02:30, in CEST (00:30 UTC), to 04:00 CET (03:00 UTC).
    assert slots[0].starts_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert len(slots) == 10


def test_the_grid_counts_from_local_midnight_in_a_zone_with_a_half_hour_offset() -> None:
    clinic = replace(
        NIGHT_CLINIC,
        timezone=ZoneInfo("Asia/Kolkata"),
        grid=60 * MINUTE,
        opening_hours=OpeningHours(days={"monday": (OpeningInterval(time(9), time(12)),)}),
    )
    slots = _night_search(MONDAY, clinic)
    assert _clocks(slots) == ["09:00", "10:00", "11:00"]
    assert slots[0].starts_at == datetime(2026, 5, 4, 3, 30, tzinfo=UTC)


def test_starts_return_to_the_local_grid_after_a_half_hour_clock_change() -> None:
    # Lord Howe Island moves its clocks from 02:00 to 02:30 on 4 October 2026.
    clinic = replace(NIGHT_CLINIC, timezone=ZoneInfo("Australia/Lord_Howe"), grid=60 * MINUTE)
    slots = _night_search(date(2026, 10, 4), clinic)
    assert _clocks(slots) == ["00:00", "01:00", "03:00", "04:00", "05:00"]
    assert slots[2].starts_at - slots[1].starts_at == 90 * MINUTE


def test_a_local_time_the_clocks_skip_is_refused() -> None:
    with pytest.raises(StartInDstGap) as raised:
        local_to_utc(datetime(2026, 3, 29, 2, 30), AMSTERDAM)
    assert (raised.value.field, raised.value.code) == ("starts_at", "start_in_dst_gap")


def test_a_local_time_the_clocks_show_twice_is_refused_as_ambiguous_asking_for_the_offset() -> None:
    with pytest.raises(StartAmbiguous) as raised:
        local_to_utc(datetime(2026, 10, 25, 2, 30), AMSTERDAM)
    assert (raised.value.field, raised.value.code) == ("starts_at", "start_ambiguous")
    assert "offset" in raised.value.message


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        (datetime(2026, 3, 29, 1, 59), datetime(2026, 3, 29, 0, 59, tzinfo=UTC)),
        (datetime(2026, 3, 29, 3, 0), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (datetime(2026, 10, 25, 1, 59), datetime(2026, 10, 24, 23, 59, tzinfo=UTC)),
        (datetime(2026, 10, 25, 3, 0), datetime(2026, 10, 25, 2, 0, tzinfo=UTC)),
    ],
)
def test_a_local_time_next_to_a_clock_change_converts_to_its_one_instant(local: datetime, utc: datetime) -> None:
    assert local_to_utc(local, AMSTERDAM) == utc
