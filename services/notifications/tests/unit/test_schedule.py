"""When messages are due, in the clinic's time: quiet hours across midnight and clock changes, the
aftercare sequence and the next-session suggestion."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from notifications.domain.schedule import QuietHours, aftercare_due, local_moment, next_session_due

pytestmark = pytest.mark.unit

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NIGHT = QuietHours(time(21, 0), time(8, 0))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("moment", "released"),
    [
        (utc(2027, 3, 2, 12, 0), utc(2027, 3, 2, 12, 0)),  # 13:00 local: not quiet
        (utc(2027, 3, 2, 20, 30), utc(2027, 3, 3, 7, 0)),  # 21:30 local: the next morning at 08:00
        (utc(2027, 3, 2, 2, 0), utc(2027, 3, 2, 7, 0)),  # 03:00 local: the same morning
        (utc(2027, 3, 2, 7, 0), utc(2027, 3, 2, 7, 0)),  # 08:00 local: quiet hours are over
        (utc(2027, 3, 2, 19, 59), utc(2027, 3, 2, 19, 59)),  # 20:59 local: not yet
    ],
)
def test_quiet_hours_defer_to_their_end_on_the_clinics_clock(moment: datetime, released: datetime) -> None:
    assert NIGHT.release(moment, AMSTERDAM) == released


def test_quiet_hours_end_at_local_eight_across_the_spring_clock_change() -> None:
    # The night of 27-28 March 2027 the clocks go from 02:00 to 03:00 in Amsterdam: 08:00 is 06:00 UTC.
    assert NIGHT.release(utc(2027, 3, 27, 22, 0), AMSTERDAM) == utc(2027, 3, 28, 6, 0)


def test_quiet_hours_inside_one_day_and_none_at_all() -> None:
    lunch = QuietHours(time(12, 0), time(13, 0))
    assert lunch.release(utc(2027, 3, 2, 11, 30), AMSTERDAM) == utc(2027, 3, 2, 12, 0)
    assert QuietHours(time(0, 0), time(0, 0)).release(utc(2027, 3, 2, 2, 0), AMSTERDAM) == utc(2027, 3, 2, 2, 0)


def test_a_wall_time_skipped_by_the_clock_change_is_read_after_the_jump() -> None:
    assert local_moment(date(2027, 3, 28), time(2, 30), AMSTERDAM) == datetime(2027, 3, 28, 3, 30, tzinfo=AMSTERDAM)


def test_aftercare_goes_the_same_evening_the_next_morning_and_three_days_on() -> None:
    due = aftercare_due(utc(2027, 3, 2, 10, 30), AMSTERDAM, NIGHT)  # 11:30 local
    assert due == {
        "aftercare_same_day": utc(2027, 3, 2, 11, 30),
        "aftercare_next_day": utc(2027, 3, 3, 9, 0),  # 10:00 local
        "aftercare_check": utc(2027, 3, 5, 9, 0),
    }


def test_a_late_visits_evening_note_goes_at_once_rather_than_the_next_morning() -> None:
    due = aftercare_due(utc(2027, 3, 2, 19, 30), AMSTERDAM, NIGHT)  # 20:30 local; +1 h would be quiet
    assert due["aftercare_same_day"] == utc(2027, 3, 2, 19, 30)


def test_the_next_session_is_suggested_a_week_before_its_window_opens_but_never_before_the_next_day() -> None:
    completed = utc(2027, 3, 2, 10, 30)
    assert next_session_due(completed, date(2027, 3, 30), AMSTERDAM) == utc(2027, 3, 23, 9, 0)
    assert next_session_due(completed, date(2027, 3, 5), AMSTERDAM) == utc(2027, 3, 3, 9, 0)
