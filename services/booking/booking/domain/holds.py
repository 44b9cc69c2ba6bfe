"""Holds: a chosen time kept for a few minutes while a patient fills in their details, before anyone
is named. A hold is a row of `appointments` in the status `held`, holding practitioner, room and
device like a visit, until it is booked (the row itself becomes the visit, `requested`), released
(`hold_released`) or lapses at `held_until` (`hold_lapsed`). It can be extended once, by as long
again. Nothing is announced about a hold: inventory and notifications hear of the visit only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, Self
from uuid import UUID, uuid4

from booking.availability import Allocation, Phases
from booking.domain.appointments import Appointment, Status
from booking.domain.areas import Area
from booking.domain.screening import Outcome
from clinic_shared.errors import Conflict, InvalidInput, NotFound

# The statuses of a row that is a hold, or was one and ended without a booking: the only rows
# without a patient (a check constraint says so).
HOLD_STATUSES: tuple[Status, ...] = ("held", "hold_lapsed", "hold_released")
# What became of a hold, as its holder sees it; `lapsed` as soon as `held_until` has passed.
HoldState = Literal["held", "lapsed", "released", "booked"]


class HoldNotFound(NotFound):
    code = "hold_not_found"


class HoldNotHeld(Conflict):
    """The hold lapsed, was released or was booked: it keeps nothing any more."""

    code = "hold_not_held"


class HoldAlreadyExtended(Conflict):
    code = "hold_already_extended"


class HoldAlreadyBooked(Conflict):
    code = "hold_already_booked"


class HoldMismatch(InvalidInput):
    """The booking names another clinic, treatment, areas, start or practitioner than its hold."""

    code = "hold_mismatch"


@dataclass(frozen=True)
class Hold:
    id: UUID
    clinic_id: UUID
    treatment_id: UUID
    areas: tuple[Area, ...]
    allocation: Allocation
    starts_at: datetime
    procedure_starts_at: datetime
    procedure_ends_at: datetime
    ends_at: datetime
    # The row's status: one of HOLD_STATUSES, or the booked visit's once the hold was taken up.
    status: Status
    held_at: datetime
    held_until: datetime
    extended_at: datetime | None = None

    @classmethod
    def place(
        cls,
        *,
        clinic_id: UUID,
        treatment_id: UUID,
        areas: tuple[Area, ...],
        allocation: Allocation,
        starts_at: datetime,
        phases: Phases,
        now: datetime,
        hold_for: timedelta,
    ) -> Self:
        procedure = phases.practitioner(starts_at)
        return cls(
            id=uuid4(),
            clinic_id=clinic_id,
            treatment_id=treatment_id,
            areas=areas,
            allocation=allocation,
            starts_at=starts_at,
            procedure_starts_at=procedure.start,
            procedure_ends_at=procedure.end,
            ends_at=phases.room(starts_at).end,
            status="held",
            held_at=now,
            held_until=now + hold_for,
        )

    def state(self, now: datetime) -> HoldState:
        if self.status in ("held", "hold_lapsed"):
            return "held" if self.status == "held" and now < self.held_until else "lapsed"
        return "released" if self.status == "hold_released" else "booked"

    def latest_end(self, hold_for: timedelta) -> datetime:
        """The longest this hold can keep its time: extended once by `hold_for`, if it has not been."""
        return self.held_until if self.extended_at else self.held_until + hold_for

    def extended(self, *, by: timedelta, now: datetime) -> Self:
        self._ensure_held(now, "extended")
        if self.extended_at is not None:
            raise HoldAlreadyExtended("a hold can be extended once only", field="hold_id")
        return replace(self, held_until=self.held_until + by, extended_at=now)

    def released(self, *, now: datetime) -> Self:
        """Let the time go; a hold that keeps nothing any more stays as it is (releasing is idempotent),
        but a booked one is a visit now: it is cancelled through its manage link."""
        state = self.state(now)
        if state == "booked":
            raise HoldAlreadyBooked("this hold was booked; cancel the visit instead", field="hold_id")
        return replace(self, status="hold_released") if self.status == "held" else self

    def lapsed(self) -> Self:
        return replace(self, status="hold_lapsed")

    def ensure_for(
        self,
        *,
        clinic_id: UUID,
        treatment_id: UUID,
        areas: tuple[Area, ...],
        starts_at: datetime,
        practitioner_id: UUID | None,
        now: datetime,
    ) -> None:
        """Refuse a booking that names this hold but asks for something else, or comes again after
        the hold was booked (a lapsed or released hold is no reason to refuse: the time is booked
        afresh)."""
        if self.state(now) == "booked":
            raise HoldAlreadyBooked("this hold was booked already", field="hold_token")
        differences = (
            ("clinic_id", "clinic", clinic_id != self.clinic_id),
            ("treatment_id", "treatment", treatment_id != self.treatment_id),
            ("areas", "set of areas", set(areas) != set(self.areas)),
            ("starts_at", "start", starts_at != self.starts_at),
            ("practitioner_id", "practitioner", practitioner_id not in (None, self.allocation.practitioner_id)),
        )
        for field, what, differs in differences:
            if differs:
                raise HoldMismatch(f"the hold is for another {what}; hold this one first", field=field)

    def booked(
        self,
        *,
        patient_id: UUID,
        now: datetime,
        screening_outcome: Outcome,
        screening_answers: Mapping[str, bool] | None,
        course_id: UUID | None,
        session_number: int | None,
    ) -> Appointment:
        """The visit this hold becomes: the same row, time and resources, now a booking request."""
        self._ensure_held(now, "booked")
        return Appointment(
            id=self.id,
            clinic_id=self.clinic_id,
            patient_id=patient_id,
            treatment_id=self.treatment_id,
            areas=self.areas,
            allocation=self.allocation,
            starts_at=self.starts_at,
            procedure_starts_at=self.procedure_starts_at,
            procedure_ends_at=self.procedure_ends_at,
            ends_at=self.ends_at,
            status="requested",
            requested_at=now,
            screening_outcome=screening_outcome,
            screening_answers=screening_answers,
            course_id=course_id,
            session_number=session_number,
        )

    def _ensure_held(self, now: datetime, action: str) -> None:
        state = self.state(now)
        if state == "booked":
            raise HoldAlreadyBooked(f"this hold was booked already, so it cannot be {action}", field="hold_id")
        if state != "held":
            raise HoldNotHeld(f"this hold has {state}, so it cannot be {action}", field="hold_id")
