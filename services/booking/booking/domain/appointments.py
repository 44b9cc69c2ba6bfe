"""Appointments and the saga's decisions: requested -> confirmed or rejected."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, Self
from uuid import UUID, uuid4

from booking.availability import Allocation, Phases
from booking.domain.areas import Area
from booking.domain.screening import Outcome
from clinic_shared.errors import Conflict, InvalidInput, NotFound

Status = Literal[
    "offered",
    "offer_expired",
    "offer_declined",
    "requested",
    "confirmed",
    "rejected",
    "cancelled",
    "checked_in",
    "completed",
    "no_show",
    "held",
    "hold_lapsed",
    "hold_released",
]
# Statuses that hold practitioner, room and device time (the exclusion constraints' WHERE clause):
# an offer to a waiting patient, and a time held while a patient fills in their details (`held`, see
# domain/holds.py), hold their time like a booked visit until taken up, released or lapsed.
HOLDING: tuple[Status, ...] = ("held", "offered", "requested", "confirmed", "checked_in", "completed")
RejectionReason = Literal["supplies_unavailable", "supplies_timeout"]
Actor = Literal["patient", "staff", "system"]
# What can still change: a visit that is over (or never happened) is history.
CHANGEABLE: tuple[Status, ...] = ("requested", "confirmed")


class AppointmentNotFound(NotFound):
    code = "appointment_not_found"


class IllegalTransition(Conflict):
    """The visit's status does not allow this (e.g. completing a cancelled visit)."""

    code = "illegal_transition"


class TooLateToChange(Conflict):
    """Patients may change a visit online only until the clinic's cut-off before it."""

    code = "too_late_to_change"


class DepthOutOfRange(InvalidInput):
    code = "depth_out_of_range"


class CompletionIncomplete(InvalidInput):
    code = "completion_incomplete"


@dataclass(frozen=True)
class LotUsed:
    item_id: UUID
    lot_number: str


class OfferLapsed(Conflict):
    """The time offered from the waitlist was held only until the offer's expiry."""

    code = "offer_lapsed"


class SlotTaken(Conflict):
    """Someone else holds the practitioner, room or device for (part of) this time."""

    code = "slot_taken"


@dataclass(frozen=True)
class Appointment:
    id: UUID
    clinic_id: UUID
    patient_id: UUID
    treatment_id: UUID
    areas: tuple[Area, ...]
    allocation: Allocation
    starts_at: datetime
    procedure_starts_at: datetime
    procedure_ends_at: datetime
    ends_at: datetime
    status: Status
    requested_at: datetime
    rejection_reason: RejectionReason | None = None
    cancelled_by: Actor | None = None
    cancel_reason_code: str | None = None
    checked_in_at: datetime | None = None
    completed_at: datetime | None = None
    # Treatment record: stays in booking's database, never in an event or a log.
    needle_depths_mm: Mapping[Area, float] | None = None
    lots_used: tuple[LotUsed, ...] = ()
    # The patient's screening for this visit: answers are health data and stay in booking.
    screening_outcome: Outcome = "clear"
    screening_answers: Mapping[str, bool] | None = None
    course_id: UUID | None = None
    session_number: int | None = None
    # Set on a time offered from the waitlist: whose entry it answers, and until when it is held.
    waitlist_entry_id: UUID | None = None
    offer_expires_at: datetime | None = None

    @classmethod
    def request(
        cls,
        *,
        clinic_id: UUID,
        patient_id: UUID,
        treatment_id: UUID,
        areas: tuple[Area, ...],
        allocation: Allocation,
        starts_at: datetime,
        phases: Phases,
        now: datetime,
        screening_outcome: Outcome = "clear",
        screening_answers: Mapping[str, bool] | None = None,
        course_id: UUID | None = None,
        session_number: int | None = None,
    ) -> Self:
        procedure = phases.practitioner(starts_at)
        return cls(
            course_id=course_id,
            session_number=session_number,
            screening_outcome=screening_outcome,
            screening_answers=screening_answers,
            id=uuid4(),
            clinic_id=clinic_id,
            patient_id=patient_id,
            treatment_id=treatment_id,
            areas=areas,
            allocation=allocation,
            starts_at=starts_at,
            procedure_starts_at=procedure.start,
            procedure_ends_at=procedure.end,
            ends_at=phases.room(starts_at).end,
            status="requested",
            requested_at=now,
        )

    @classmethod
    def offer(
        cls,
        *,
        clinic_id: UUID,
        patient_id: UUID,
        treatment_id: UUID,
        areas: tuple[Area, ...],
        allocation: Allocation,
        starts_at: datetime,
        phases: Phases,
        now: datetime,
        waitlist_entry_id: UUID,
        hold_for: timedelta,
    ) -> Self:
        """A freed time held for a waiting patient until `now + hold_for`; nothing is booked yet."""
        offered = cls.request(
            clinic_id=clinic_id,
            patient_id=patient_id,
            treatment_id=treatment_id,
            areas=areas,
            allocation=allocation,
            starts_at=starts_at,
            phases=phases,
            now=now,
        )
        return replace(offered, status="offered", waitlist_entry_id=waitlist_entry_id, offer_expires_at=now + hold_for)

    def accepted(self, *, now: datetime) -> Self:
        """The patient takes the offered time: from here on it is a booking request like any other."""
        self._ensure(("offered",), "accepted")
        if self.offer_expires_at is not None and now >= self.offer_expires_at:
            raise OfferLapsed("this offer has lapsed and the time was freed", field="offer")
        return replace(self, status="requested", requested_at=now)

    def declined(self) -> Self:
        self._ensure(("offered",), "declined")
        return replace(self, status="offer_declined")

    def lapsed(self) -> Self:
        self._ensure(("offered",), "left to lapse")
        return replace(self, status="offer_expired")

    @property
    def awaiting_supplies(self) -> bool:
        return self.status == "requested"

    def confirmed(self) -> Self:
        """Supplies are reserved. Only a requested visit can be confirmed; the caller checks
        `awaiting_supplies`, since an answer may arrive after the request timed out."""
        return replace(self, status="confirmed")

    def rejected(self, reason: RejectionReason) -> Self:
        return replace(self, status="rejected", rejection_reason=reason)

    def _ensure(self, allowed: tuple[Status, ...], action: str) -> None:
        if self.status not in allowed:
            raise IllegalTransition(
                f"this visit is {self.status.replace('_', ' ')}, so it cannot be {action}", field="status"
            )

    def _ensure_patient_in_time(self, *, by: Actor, now: datetime, cutoff: timedelta) -> None:
        if by == "patient" and now > self.starts_at - cutoff:
            hours = int(cutoff.total_seconds() // 3600)
            raise TooLateToChange(
                f"online changes close {hours} hours before the visit; please call the clinic", field="starts_at"
            )

    def cancelled(self, *, by: Actor, now: datetime, cutoff: timedelta, reason_code: str | None) -> Self:
        self._ensure(CHANGEABLE, "cancelled")
        self._ensure_patient_in_time(by=by, now=now, cutoff=cutoff)
        return replace(self, status="cancelled", cancelled_by=by, cancel_reason_code=reason_code)

    def ensure_reschedulable(self, *, by: Actor, now: datetime, cutoff: timedelta) -> None:
        # A requested visit still waits for its supplies answer, which is about the time it asked for.
        self._ensure(("confirmed",), "rescheduled")
        self._ensure_patient_in_time(by=by, now=now, cutoff=cutoff)

    def moved(self, *, allocation: Allocation, starts_at: datetime, phases: Phases) -> Self:
        procedure = phases.practitioner(starts_at)
        return replace(
            self,
            allocation=allocation,
            starts_at=starts_at,
            procedure_starts_at=procedure.start,
            procedure_ends_at=procedure.end,
            ends_at=phases.room(starts_at).end,
        )

    def checked_in(self, *, now: datetime) -> Self:
        self._ensure(("confirmed",), "checked in")
        return replace(self, status="checked_in", checked_in_at=now)

    def completed(
        self,
        *,
        depths_mm: Mapping[Area, float],
        allowed_mm: Mapping[Area, tuple[float, float]],
        lots_used: tuple[LotUsed, ...],
        now: datetime,
    ) -> Self:
        self._ensure(("checked_in",), "completed")
        missing = [area for area in self.areas if area not in depths_mm]
        if missing or set(depths_mm) - set(self.areas):
            raise CompletionIncomplete(
                f"record one depth for each treated area: {', '.join(self.areas)}", field="needle_depths_mm"
            )
        for area, depth in depths_mm.items():
            low, high = allowed_mm[area]
            if not low <= depth <= high:
                raise DepthOutOfRange(
                    f"{depth} mm is outside this clinic's range for the {area} ({low}-{high} mm)",
                    field=f"needle_depths_mm.{area}",
                )
        if not lots_used:
            raise CompletionIncomplete("record the cartridge lot used", field="lots_used")
        return replace(
            self, status="completed", completed_at=now, needle_depths_mm=dict(depths_mm), lots_used=lots_used
        )

    def marked_no_show(self, *, now: datetime) -> Self:
        self._ensure(("confirmed",), "marked as a no-show")
        if now < self.starts_at:
            raise IllegalTransition("a visit can be marked as a no-show only once it has started", field="status")
        return replace(self, status="no_show")
