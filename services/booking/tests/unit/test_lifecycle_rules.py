"""The visit's and the waitlist entry's rules, without a database: which transitions are legal, and
what each one records."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.availability import Allocation, Phases
from booking.domain.appointments import (
    Appointment,
    CompletionIncomplete,
    DepthOutOfRange,
    IllegalTransition,
    LotUsed,
    OfferLapsed,
    TooLateToChange,
)
from booking.domain.courses import CourseWindow, OutsideCourseWindow
from booking.domain.waitlist import InvalidWaitlistEntry, NoOpenOffer, WaitlistEntry, WaitlistEntryClosed

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
START = NOW + timedelta(days=3)
PHASES = Phases(numbing=timedelta(minutes=30), procedure=timedelta(minutes=30), turnover=timedelta(minutes=15))
ALLOCATION = Allocation(practitioner_id=uuid.uuid4(), room_id=uuid.uuid4(), device_id=uuid.uuid4())
LOT = (LotUsed(item_id=uuid.uuid4(), lot_number="L-1"),)
FACE_RANGE = {"face": (0.5, 1.5)}


def _visit(**changes: object) -> Appointment:
    visit = Appointment.request(
        clinic_id=uuid.uuid4(),
        patient_id=uuid.uuid4(),
        treatment_id=uuid.uuid4(),
        areas=("face",),
        allocation=ALLOCATION,
        starts_at=START,
        phases=PHASES,
        now=NOW,
    )
    return replace(visit, **changes)  # type: ignore[arg-type]


def _offer(hold_for: timedelta = timedelta(hours=2)) -> Appointment:
    return Appointment.offer(
        clinic_id=uuid.uuid4(),
        patient_id=uuid.uuid4(),
        treatment_id=uuid.uuid4(),
        areas=("face",),
        allocation=ALLOCATION,
        starts_at=START,
        phases=PHASES,
        now=NOW,
        waitlist_entry_id=uuid.uuid4(),
        hold_for=hold_for,
    )


def test_a_request_holds_the_three_phases() -> None:
    visit = _visit()
    assert visit.status == "requested"
    assert (visit.procedure_starts_at, visit.procedure_ends_at) == (
        START + timedelta(minutes=30),
        START + timedelta(minutes=60),
    )
    assert visit.ends_at == START + timedelta(minutes=75)
    assert visit.awaiting_supplies


def test_the_happy_path_confirm_check_in_complete() -> None:
    done = (
        _visit()
        .confirmed()
        .checked_in(now=START)
        .completed(depths_mm={"face": 1.0}, allowed_mm=FACE_RANGE, lots_used=LOT, now=START + timedelta(hours=1))
    )
    assert done.status == "completed"
    assert done.needle_depths_mm == {"face": 1.0}
    assert done.lots_used == LOT


@pytest.mark.parametrize(
    ("status", "act"),
    [
        ("cancelled", lambda v: v.checked_in(now=START)),
        ("cancelled", lambda v: v.completed(depths_mm={"face": 1.0}, allowed_mm=FACE_RANGE, lots_used=LOT, now=START)),
        ("completed", lambda v: v.cancelled(by="staff", now=NOW, cutoff=timedelta(hours=24), reason_code=None)),
        ("rejected", lambda v: v.cancelled(by="staff", now=NOW, cutoff=timedelta(hours=24), reason_code=None)),
        ("requested", lambda v: v.checked_in(now=START)),
        ("requested", lambda v: v.ensure_reschedulable(by="staff", now=NOW, cutoff=timedelta(hours=24))),
        ("no_show", lambda v: v.checked_in(now=START)),
        ("confirmed", lambda v: v.accepted(now=NOW)),
        ("offered", lambda v: v.cancelled(by="staff", now=NOW, cutoff=timedelta(hours=24), reason_code=None)),
        ("offered", lambda v: v.checked_in(now=START)),
    ],
)
def test_illegal_transitions_are_refused(status: str, act: object) -> None:
    with pytest.raises(IllegalTransition):
        act(_visit(status=status))  # type: ignore[operator]


def test_patients_change_online_only_until_the_cut_off_staff_any_time() -> None:
    confirmed = _visit().confirmed()
    late = START - timedelta(hours=23)
    with pytest.raises(TooLateToChange):
        confirmed.cancelled(by="patient", now=late, cutoff=timedelta(hours=24), reason_code=None)
    by_staff = confirmed.cancelled(by="staff", now=late, cutoff=timedelta(hours=24), reason_code="illness")
    assert (by_staff.status, by_staff.cancelled_by, by_staff.cancel_reason_code) == ("cancelled", "staff", "illness")


def test_completion_needs_a_depth_in_range_for_every_area_and_a_lot() -> None:
    checked_in = _visit(status="checked_in")
    with pytest.raises(DepthOutOfRange) as outside:
        checked_in.completed(depths_mm={"face": 2.5}, allowed_mm=FACE_RANGE, lots_used=LOT, now=START)
    assert outside.value.field == "needle_depths_mm.face"
    with pytest.raises(CompletionIncomplete):
        checked_in.completed(depths_mm={}, allowed_mm=FACE_RANGE, lots_used=LOT, now=START)
    with pytest.raises(CompletionIncomplete):
        checked_in.completed(depths_mm={"face": 1.0}, allowed_mm=FACE_RANGE, lots_used=(), now=START)


def test_no_show_only_once_the_visit_has_started() -> None:
    confirmed = _visit().confirmed()
    with pytest.raises(IllegalTransition):
        confirmed.marked_no_show(now=START - timedelta(minutes=1))
    assert confirmed.marked_no_show(now=START + timedelta(minutes=20)).status == "no_show"


def test_an_offer_is_held_until_it_lapses_and_accepting_makes_it_a_request() -> None:
    offer = _offer()
    assert offer.status == "offered"
    assert offer.offer_expires_at == NOW + timedelta(hours=2)
    assert not offer.awaiting_supplies

    accepted = offer.accepted(now=NOW + timedelta(minutes=10))
    assert accepted.status == "requested"
    assert accepted.requested_at == NOW + timedelta(minutes=10)  # the supplies timeout counts from here
    with pytest.raises(OfferLapsed):
        offer.accepted(now=NOW + timedelta(hours=2))
    assert offer.declined().status == "offer_declined"
    assert offer.lapsed().status == "offer_expired"
    with pytest.raises(IllegalTransition):
        offer.lapsed().accepted(now=NOW)


def _entry(**changes: object) -> WaitlistEntry:
    entry = WaitlistEntry.join(
        clinic_id=uuid.uuid4(),
        patient_id=uuid.uuid4(),
        treatment_id=uuid.uuid4(),
        areas=("face",),
        practitioner_id=None,
        first_day=date(2026, 12, 1),
        last_day=date(2026, 12, 14),
        today=date(2026, 11, 24),
        latest_day=date(2027, 11, 24),
        now=NOW,
    )
    return replace(entry, **changes)  # type: ignore[arg-type]


def test_a_waitlist_entry_waits_is_offered_and_books_or_waits_again() -> None:
    entry = _entry()
    assert entry.status == "waiting"
    offered = entry.offered()
    assert (offered.status, offered.offers_made) == ("offered", 1)
    assert offered.offer_answered(accepted=True).status == "booked"
    assert offered.offer_answered(accepted=False).status == "waiting"
    with pytest.raises(WaitlistEntryClosed):
        offered.offered()  # one open offer at a time
    with pytest.raises(NoOpenOffer):
        entry.offer_answered(accepted=True)
    assert offered.left().status == "left"
    with pytest.raises(WaitlistEntryClosed):
        offered.offer_answered(accepted=True).left()


def test_a_waitlist_entry_starts_today_at_the_earliest_and_spans_at_most_92_days() -> None:
    started = WaitlistEntry.join(
        clinic_id=uuid.uuid4(), patient_id=uuid.uuid4(), treatment_id=uuid.uuid4(), areas=("face",),
        practitioner_id=None, first_day=date(2026, 11, 20), last_day=date(2026, 11, 30),
        today=date(2026, 11, 24), latest_day=date(2027, 11, 24), now=NOW,
    )  # fmt: skip
    assert started.first_day == date(2026, 11, 24)
    for first, last in ((date(2026, 12, 5), date(2026, 12, 1)), (date(2026, 11, 1), date(2026, 11, 23))):
        with pytest.raises(InvalidWaitlistEntry):
            _entry_between(first, last)
    with pytest.raises(InvalidWaitlistEntry):
        _entry_between(date(2026, 12, 1), date(2026, 12, 1) + timedelta(days=92))
    assert _entry_between(date(2026, 12, 1), date(2026, 12, 1) + timedelta(days=91)).covers(date(2027, 3, 2))
    with pytest.raises(InvalidWaitlistEntry) as beyond:
        _entry_between(date(2027, 11, 20), date(2027, 11, 25))  # past the clinic's horizon
    assert beyond.value.field == "to"


def _entry_between(first: date, last: date) -> WaitlistEntry:
    return WaitlistEntry.join(
        clinic_id=uuid.uuid4(), patient_id=uuid.uuid4(), treatment_id=uuid.uuid4(), areas=("face",),
        practitioner_id=None, first_day=first, last_day=last, today=date(2026, 11, 24),
        latest_day=date(2027, 11, 24), now=NOW,
    )  # fmt: skip


def test_the_course_window_counts_the_clinics_days_across_a_clock_change() -> None:
    amsterdam = ZoneInfo("Europe/Amsterdam")
    window = CourseWindow(min_weeks=4, max_weeks=6, zone=amsterdam)
    first = datetime(2026, 3, 10, 10, 0, tzinfo=amsterdam)  # CET; the clocks go forward on 29 March
    same_time_four_weeks_on = datetime(2026, 4, 7, 10, 0, tzinfo=amsterdam)  # CEST: 27 days 23 hours later
    window.check(previous_start=first, starts_at=same_time_four_weeks_on)
    window.check(previous_start=first, starts_at=datetime(2026, 4, 21, 23, 30, tzinfo=amsterdam))
    for outside in (datetime(2026, 4, 6, 23, 59, tzinfo=amsterdam), datetime(2026, 4, 22, 0, 0, tzinfo=amsterdam)):
        with pytest.raises(OutsideCourseWindow):
            window.check(previous_start=first, starts_at=outside)
    earliest, latest = window.after(first)
    assert (earliest, latest) == (
        datetime(2026, 4, 7, tzinfo=amsterdam),
        datetime(2026, 4, 22, tzinfo=amsterdam),
    )
