"""Courses: results usually need several sessions weeks apart, within the clinic's course window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Self
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from booking.domain.areas import Area
from clinic_shared.errors import Conflict, InvalidInput, NotFound

MAX_SESSIONS = 10


class CourseNotFound(NotFound):
    code = "course_not_found"


class InvalidCourse(InvalidInput):
    code = "invalid_course"


class OutsideCourseWindow(InvalidInput):
    code = "outside_course_window"


class CourseFullyBooked(Conflict):
    code = "course_fully_booked"


@dataclass(frozen=True)
class CourseWindow:
    """On the clinic's local days from `min_weeks` to `max_weeks` after the previous session's day
    (both included): a patient who came at 10:00 can come back at 10:00 four weeks later, whether or
    not the clocks changed in between."""

    min_weeks: int
    max_weeks: int
    zone: ZoneInfo

    def days_after(self, previous_start: datetime) -> tuple[date, date]:
        day = previous_start.astimezone(self.zone).date()
        return day + timedelta(weeks=self.min_weeks), day + timedelta(weeks=self.max_weeks)

    def after(self, previous_start: datetime) -> tuple[datetime, datetime]:
        """The window as instants: the first day's start, and the end of the last day (exclusive)."""
        first, last = self.days_after(previous_start)
        return (
            datetime.combine(first, time(), self.zone),
            datetime.combine(last + timedelta(days=1), time(), self.zone),
        )

    def check(self, *, previous_start: datetime, starts_at: datetime, field: str = "starts_at") -> None:
        first, last = self.days_after(previous_start)
        if not first <= starts_at.astimezone(self.zone).date() <= last:
            raise OutsideCourseWindow(
                f"a session of this course is {self.min_weeks} to {self.max_weeks} weeks after the previous one "
                f"({first:%Y-%m-%d} to {last:%Y-%m-%d})",
                field=field,
            )


@dataclass(frozen=True)
class Course:
    id: UUID
    clinic_id: UUID
    patient_id: UUID
    treatment_id: UUID
    areas: tuple[Area, ...]
    sessions_planned: int

    @classmethod
    def plan(
        cls, *, clinic_id: UUID, patient_id: UUID, treatment_id: UUID, areas: tuple[Area, ...], sessions: int
    ) -> Self:
        if not 2 <= sessions <= MAX_SESSIONS:
            raise InvalidCourse(f"a course has 2 to {MAX_SESSIONS} sessions", field="course_sessions")
        return cls(
            id=uuid4(),
            clinic_id=clinic_id,
            patient_id=patient_id,
            treatment_id=treatment_id,
            areas=areas,
            sessions_planned=sessions,
        )

    def next_session_number(self, booked: Sequence[int]) -> int:
        number = max(booked, default=0) + 1
        if number > self.sessions_planned:
            raise CourseFullyBooked(
                f"all {self.sessions_planned} sessions of this course are booked", field="course_id"
            )
        return number
