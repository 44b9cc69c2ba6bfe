"""Courses: results usually need several sessions weeks apart, within the clinic's course window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Self
from uuid import UUID, uuid4

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
    """Between `min_weeks` and `max_weeks` after the previous session's start (inclusive)."""

    min_weeks: int
    max_weeks: int

    def after(self, previous_start: datetime) -> tuple[datetime, datetime]:
        return previous_start + timedelta(weeks=self.min_weeks), previous_start + timedelta(weeks=self.max_weeks)

    def check(self, *, previous_start: datetime, starts_at: datetime, field: str = "starts_at") -> None:
        earliest, latest = self.after(previous_start)
        if not earliest <= starts_at <= latest:
            raise OutsideCourseWindow(
                f"a session of this course is {self.min_weeks} to {self.max_weeks} weeks after the previous one "
                f"({earliest:%Y-%m-%d} to {latest:%Y-%m-%d})",
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


def check_neighbours(
    window: CourseWindow,
    *,
    starts_at: datetime,
    previous_start: datetime | None,
    next_start: datetime | None,
) -> None:
    """Moving a session must keep it in the window after the previous one, and the next in its window."""
    if previous_start is not None:
        window.check(previous_start=previous_start, starts_at=starts_at)
    if next_start is not None:
        window.check(previous_start=starts_at, starts_at=next_start, field="starts_at")
