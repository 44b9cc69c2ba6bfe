"""The waitlist: a patient waits for a clinic, a treatment and a range of days; when a matching time
frees up, the first patient still waiting is offered it and the time is held for them a while.

An entry is `waiting` until a time is offered (`offered`); the patient accepts (`booked`), or
declines or lets the offer lapse (back to `waiting`, keeping their place in the queue); they can
leave at any time (`left`); an entry whose last day has passed without a booking has `lapsed`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal, Self
from uuid import UUID, uuid4

from booking.availability import MAX_SEARCH_DAYS
from booking.domain.areas import Area
from clinic_shared.errors import Conflict, InvalidInput, NotFound

EntryStatus = Literal["waiting", "offered", "booked", "left", "lapsed"]


class WaitlistEntryNotFound(NotFound):
    code = "waitlist_entry_not_found"


class InvalidWaitlistEntry(InvalidInput):
    code = "invalid_waitlist_entry"


class TimesAvailable(Conflict):
    """There are free times in the range already: the patient can book one now instead of waiting."""

    code = "times_available"


class NoOpenOffer(Conflict):
    code = "no_open_offer"


class WaitlistEntryClosed(Conflict):
    code = "waitlist_entry_closed"


@dataclass(frozen=True)
class WaitlistEntry:
    id: UUID
    clinic_id: UUID
    patient_id: UUID
    treatment_id: UUID
    areas: tuple[Area, ...]
    practitioner_id: UUID | None
    first_day: date
    last_day: date
    status: EntryStatus
    joined_at: datetime
    offers_made: int = 0

    @classmethod
    def join(
        cls,
        *,
        clinic_id: UUID,
        patient_id: UUID,
        treatment_id: UUID,
        areas: tuple[Area, ...],
        practitioner_id: UUID | None,
        first_day: date,
        last_day: date,
        today: date,
        latest_day: date,
        now: datetime,
    ) -> Self:
        """`latest_day`: the last day the clinic takes bookings for now (its horizon): a wait beyond it
        could never be offered anything."""
        if last_day < first_day:
            raise InvalidWaitlistEntry("the last day must be on or after the first", field="to")
        if last_day < today:
            raise InvalidWaitlistEntry("these days have passed", field="to")
        if last_day > latest_day:
            raise InvalidWaitlistEntry(f"the clinic takes bookings up to {latest_day:%Y-%m-%d}", field="to")
        if (last_day - first_day).days >= MAX_SEARCH_DAYS:
            raise InvalidWaitlistEntry(f"wait for at most {MAX_SEARCH_DAYS} days at once", field="to")
        return cls(
            id=uuid4(),
            clinic_id=clinic_id,
            patient_id=patient_id,
            treatment_id=treatment_id,
            areas=areas,
            practitioner_id=practitioner_id,
            first_day=max(first_day, today),
            last_day=last_day,
            status="waiting",
            joined_at=now,
        )

    @property
    def open(self) -> bool:
        return self.status in ("waiting", "offered")

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    def offered(self) -> Self:
        if self.status != "waiting":
            raise WaitlistEntryClosed(f"this entry is {self.status}; nothing can be offered", field="status")
        return replace(self, status="offered", offers_made=self.offers_made + 1)

    def offer_answered(self, *, accepted: bool) -> Self:
        """The patient took the offer (booked) or not (waiting again, in the same place)."""
        if self.status != "offered":
            raise NoOpenOffer("there is no open offer for this entry", field="status")
        return replace(self, status="booked" if accepted else "waiting")

    def left(self) -> Self:
        if not self.open:
            raise WaitlistEntryClosed(f"this entry is already {self.status}", field="status")
        return replace(self, status="left")

    def lapsed(self) -> Self:
        return replace(self, status="lapsed")
