"""A hold's rules and its token, without a database: what it keeps and until when, extended once,
released, booked as the same row, and a token that passes for nothing else."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from booking.availability import Allocation, Phases
from booking.domain.holds import Hold, HoldAlreadyBooked, HoldAlreadyExtended, HoldMismatch, HoldNotHeld
from clinic_shared import manage_links
from clinic_shared.auth import NotAuthenticated

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
START = NOW + timedelta(days=3)
HOLD_FOR = timedelta(minutes=10)
PHASES = Phases(numbing=timedelta(minutes=30), procedure=timedelta(minutes=30), turnover=timedelta(minutes=15))
ALLOCATION = Allocation(practitioner_id=uuid.uuid4(), room_id=uuid.uuid4(), device_id=uuid.uuid4())
SECRET = "unit-test-manage-link-secret-of-enough-length"


def _hold() -> Hold:
    return Hold.place(
        clinic_id=uuid.uuid4(), treatment_id=uuid.uuid4(), areas=("face", "neck"), allocation=ALLOCATION,
        starts_at=START, phases=PHASES, now=NOW, hold_for=HOLD_FOR,
    )  # fmt: skip


def test_a_hold_keeps_the_visits_periods_until_its_time_is_up() -> None:
    hold = _hold()

    assert (hold.status, hold.held_until) == ("held", NOW + HOLD_FOR)
    assert (hold.procedure_starts_at, hold.ends_at) == (START + timedelta(minutes=30), START + timedelta(minutes=75))
    assert hold.state(NOW + HOLD_FOR - timedelta(seconds=1)) == "held"
    assert hold.state(NOW + HOLD_FOR) == "lapsed"  # before the sweep has marked it


def test_a_hold_is_extended_by_as_long_again_once_and_only_while_held() -> None:
    hold = _hold()

    extended = hold.extended(by=HOLD_FOR, now=NOW + timedelta(minutes=9))

    assert extended.held_until == NOW + 2 * HOLD_FOR
    assert extended.latest_end(HOLD_FOR) == hold.latest_end(HOLD_FOR) == NOW + 2 * HOLD_FOR
    with pytest.raises(HoldAlreadyExtended):
        extended.extended(by=HOLD_FOR, now=NOW + timedelta(minutes=10))
    with pytest.raises(HoldNotHeld):
        hold.extended(by=HOLD_FOR, now=NOW + HOLD_FOR)
    with pytest.raises(HoldNotHeld):
        hold.released(now=NOW).extended(by=HOLD_FOR, now=NOW)


def test_releasing_frees_a_held_time_changes_nothing_after_and_refuses_a_booked_hold() -> None:
    hold = _hold()

    released = hold.released(now=NOW)

    assert released.status == "hold_released"
    assert released.released(now=NOW) == released
    lapsed = hold.lapsed()
    assert lapsed.released(now=NOW) == lapsed
    with pytest.raises(HoldAlreadyBooked):
        replace(hold, status="requested").released(now=NOW)


def test_the_booked_visit_is_the_holds_row_with_the_patient_named() -> None:
    hold, patient_id = _hold(), uuid.uuid4()

    visit = hold.booked(
        patient_id=patient_id, now=NOW, screening_outcome="review", screening_answers={"pregnant": False},
        course_id=None, session_number=None,
    )  # fmt: skip

    assert (visit.id, visit.patient_id, visit.status) == (hold.id, patient_id, "requested")
    assert visit.allocation == ALLOCATION
    assert (visit.starts_at, visit.ends_at, visit.screening_outcome) == (hold.starts_at, hold.ends_at, "review")
    with pytest.raises(HoldNotHeld):
        hold.booked(
            patient_id=patient_id, now=NOW + HOLD_FOR, screening_outcome="clear", screening_answers=None,
            course_id=None, session_number=None,
        )  # fmt: skip


def test_a_booking_must_ask_for_what_its_hold_holds() -> None:
    hold = _hold()
    asked = {
        "clinic_id": hold.clinic_id, "treatment_id": hold.treatment_id, "areas": ("neck", "face"),
        "starts_at": START, "practitioner_id": None, "now": NOW,
    }  # fmt: skip

    hold.ensure_for(**asked)  # type: ignore[arg-type]
    hold.ensure_for(**{**asked, "practitioner_id": ALLOCATION.practitioner_id})  # type: ignore[arg-type]
    for field, other in (
        ("clinic_id", uuid.uuid4()),
        ("treatment_id", uuid.uuid4()),
        ("areas", ("face",)),
        ("starts_at", START + timedelta(minutes=15)),
        ("practitioner_id", uuid.uuid4()),
    ):
        with pytest.raises(HoldMismatch) as refused:
            hold.ensure_for(**{**asked, field: other})  # type: ignore[arg-type]
        assert refused.value.field == field
    with pytest.raises(HoldAlreadyBooked):
        replace(hold, status="confirmed").ensure_for(**asked)  # type: ignore[arg-type]


def test_a_hold_token_names_its_hold_lasts_a_little_past_the_hold_and_passes_for_nothing_else() -> None:
    hold_id, now = uuid.uuid4(), datetime.now(UTC)
    token = manage_links.issue_hold(SECRET, hold_id=hold_id, lasts_at_most_until=now + 2 * HOLD_FOR)
    manage = manage_links.issue(SECRET, appointment_id=uuid.uuid4(), patient_id=uuid.uuid4(), visit_ends_at=now)

    assert manage_links.verify_hold(SECRET, token) == manage_links.HoldGrant(hold_id=hold_id)
    with pytest.raises(NotAuthenticated):
        manage_links.verify(SECRET, token)
    with pytest.raises(NotAuthenticated):
        manage_links.verify_waitlist(SECRET, token)
    with pytest.raises(NotAuthenticated):
        manage_links.verify_hold(SECRET, manage)
    with pytest.raises(NotAuthenticated):
        manage_links.verify_hold("another-secret-of-enough-length-for-hs256", token)
    over = manage_links.issue_hold(SECRET, hold_id=hold_id, lasts_at_most_until=now - manage_links.VALID_AFTER_HOLD)
    with pytest.raises(manage_links.LinkExpired):
        manage_links.verify_hold(SECRET, over)
    still = manage_links.issue_hold(
        SECRET, hold_id=hold_id, lasts_at_most_until=now - manage_links.VALID_AFTER_HOLD + timedelta(minutes=1)
    )
    assert manage_links.verify_hold(SECRET, still).hold_id == hold_id
