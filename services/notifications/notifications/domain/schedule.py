"""When messages are due, in the clinic's own time: quiet hours, reminders, the aftercare sequence and
the next-session suggestion. Pure functions of instants, zones and rules; the clock is an argument."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Aftercare: the evening note goes soon after the visit, the rest at a civil hour on later days.
SAME_DAY_AFTER = timedelta(hours=1)
LATER_DAYS_AT = time(10, 0)
CHECK_AFTER_DAYS = 3
# The next-session suggestion goes this long before the course window opens (or the day after the
# visit, if the window opens sooner).
SUGGEST_BEFORE_WINDOW = timedelta(days=7)


def local_moment(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The instant the clinic's clocks show `clock` on `day` (a time skipped by a clock change is read
    as the instant after the jump)."""
    naive = datetime.combine(day, clock)
    moment = naive.replace(tzinfo=zone)
    # A wall time inside a spring-forward gap does not exist: normalise it through UTC.
    return moment.astimezone(UTC).astimezone(zone)


@dataclass(frozen=True)
class QuietHours:
    """From `start` to `end` on the clinic's clocks; may run past midnight (21:00 to 08:00)."""

    start: time
    end: time

    def contains(self, local: datetime) -> bool:
        clock = local.timetz().replace(tzinfo=None)
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def release(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """`moment` itself, or the end of the quiet hours it falls in: a message is deferred, never
        dropped."""
        local = moment.astimezone(zone)
        if not self.contains(local):
            return moment
        day = local.date()
        clock = local.timetz().replace(tzinfo=None)
        if self.start > self.end and clock >= self.start:
            day += timedelta(days=1)
        return local_moment(day, self.end, zone).astimezone(UTC)


@dataclass(frozen=True)
class ClinicPolicy:
    """A clinic's timing rules for patients' messages."""

    reminder_lead: timedelta = timedelta(hours=24)
    quiet: QuietHours = QuietHours(time(21, 0), time(8, 0))


DEFAULT_POLICY = ClinicPolicy()


def aftercare_due(completed_at: datetime, zone: ZoneInfo, quiet: QuietHours) -> dict[str, datetime]:
    """The three aftercare messages. The evening note is sent an hour after the visit, or earlier if
    that hour falls in quiet hours (it is about that very evening); the others at 10:00 on the next day
    and three days on."""
    same_day = completed_at + SAME_DAY_AFTER
    if quiet.contains(same_day.astimezone(zone)) and not quiet.contains(completed_at.astimezone(zone)):
        same_day = completed_at
    day = completed_at.astimezone(zone).date()
    return {
        "aftercare_same_day": same_day,
        "aftercare_next_day": local_moment(day + timedelta(days=1), LATER_DAYS_AT, zone).astimezone(UTC),
        "aftercare_check": local_moment(day + timedelta(days=CHECK_AFTER_DAYS), LATER_DAYS_AT, zone).astimezone(UTC),
    }


def next_session_due(completed_at: datetime, first_day: date, zone: ZoneInfo) -> datetime:
    suggested = local_moment(first_day, LATER_DAYS_AT, zone) - SUGGEST_BEFORE_WINDOW
    earliest = local_moment(completed_at.astimezone(zone).date() + timedelta(days=1), LATER_DAYS_AT, zone)
    return max(suggested, earliest).astimezone(UTC)


def retry_delay(attempts: int, base_s: float) -> timedelta:
    """After the n-th failed attempt: base, 2 x base, 4 x base, ... capped at a day."""
    return timedelta(seconds=min(base_s * 2 ** (attempts - 1), 86_400))
