"""Faults a review found, each pinned by a test: local days east of UTC, open-ended credentials,
partial policies, cross-clinic time off, extreme dates, and no change writing back erased data."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from booking.adapters.appointments import AppointmentRepository
from clinic_shared.auth import Role
from clinic_shared.db import create_session_factory
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

NewBookable = Callable[..., Awaitable[Any]]


async def test_a_closed_day_east_of_utc_cannot_be_booked_in_its_morning(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    # 09:00 in Sydney is the previous day in UTC: the closure of the local day must still apply.
    place = await new_bookable(timezone="Australia/Sydney")
    admin = test_env.auth_header(Role.ADMIN)
    day = str(place.day)
    await booking.post(f"/clinics/{place.clinic_id}/closures", json={"first_day": day, "last_day": day}, headers=admin)

    closed = await booking.post("/appointments", json=place.body(place.at(9)))
    search = await booking.get(
        f"/clinics/{place.clinic_id}/availability",
        params={"treatment_id": place.treatment_id, "areas": ["face"], "from": day, "to": day},
    )

    assert (closed.status_code, closed.json()["code"]) == (422, "outside_opening_hours")
    assert search.json()["slots"] == []


async def test_a_credential_without_expiry_is_given_as_a_far_date_and_a_year_9999_is_refused(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    admin = test_env.auth_header(Role.ADMIN)
    practitioner = place.practitioner_ids[0]
    credential = {"number": "X", "issuer": "Board", "valid_from": "2020-01-01"}

    endless = await booking.post(
        f"/practitioners/{practitioner}/credentials", json={**credential, "valid_to": "9999-12-31"}, headers=admin
    )
    far = await booking.post(
        f"/practitioners/{practitioner}/credentials", json={**credential, "valid_to": "2199-12-31"}, headers=admin
    )
    search = await booking.get(
        f"/clinics/{place.clinic_id}/availability",
        params={"treatment_id": place.treatment_id, "areas": ["face"], "from": str(place.day), "to": str(place.day)},
    )

    assert (endless.status_code, endless.json()["field"]) == (422, "body.valid_to")
    assert far.status_code == 201
    assert search.status_code == 200
    assert search.json()["slots"]


async def test_changing_one_policy_field_keeps_the_others_and_every_area_keeps_a_depth_range(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    admin = test_env.auth_header(Role.ADMIN)

    changed = await booking.patch(
        f"/clinics/{place.clinic_id}",
        json={"booking_policy": {"needle_depth_mm": {"face": [0.5, 1.0]}}},
        headers=admin,
    )

    policy = changed.json()["booking_policy"]
    assert policy["min_notice_minutes"] == 60, "untouched fields keep their values"
    assert policy["needle_depth_mm"]["face"] == [0.5, 1.0]
    assert policy["needle_depth_mm"]["neck"] == [0.25, 1.0], "areas not given keep their range"


async def test_a_manager_cannot_book_time_off_for_a_practitioner_of_another_clinic(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    stranger = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[uuid.uuid4()])
    own = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[uuid.UUID(place.clinic_id)])
    leave = {"starts_at": place.at(9), "ends_at": place.at(12)}

    refused = await booking.post(f"/practitioners/{place.practitioner_ids[0]}/time-off", json=leave, headers=stranger)
    granted = await booking.post(f"/practitioners/{place.practitioner_ids[0]}/time-off", json=leave, headers=own)

    assert refused.status_code == 403
    assert granted.status_code == 201


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
async def test_extreme_days_in_staff_views_are_a_422_not_a_crash(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment, day: str
) -> None:
    place = await new_bookable()
    desk = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.UUID(place.clinic_id)])
    schedule = await booking.get(f"/clinics/{place.clinic_id}/schedule", params={"day": day}, headers=desk)
    listed = await booking.get(
        f"/clinics/{place.clinic_id}/appointments", params={"from": day, "to": day}, headers=desk
    )
    assert (schedule.status_code, listed.status_code) == (422, 422)


async def test_a_visit_waiting_for_supplies_cannot_be_moved(
    booking: httpx.AsyncClient, new_bookable: NewBookable
) -> None:
    place = await new_bookable()
    booked = (await booking.post("/appointments", json=place.body(place.at(10)))).json()
    moved = await booking.post(
        f"/appointments/{booked['appointment']['id']}/reschedule",
        json={"starts_at": place.at(13)},
        headers={"Authorization": f"Bearer {booked['manage_token']}"},
    )
    assert (moved.status_code, moved.json()["code"]) == (409, "illegal_transition")


async def test_a_change_from_a_stale_read_never_writes_back_erased_screening_answers(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    admin = test_env.auth_header(Role.ADMIN)
    await booking.put(
        f"/clinics/{place.clinic_id}/screening",
        json=[{"key": "pregnant", "text": "Are you pregnant?", "flags_when": True, "effect": "review"}],
        headers=admin,
    )
    booked = (
        await booking.post("/appointments", json=place.body(place.at(10), screening_answers={"pregnant": True}))
    ).json()
    engine = create_async_engine(test_env.database_url("booking"))
    sessions = create_session_factory(engine)
    try:
        async with sessions() as session:  # read before the erasure, as a slow handler would
            stale = await AppointmentRepository(session).get(uuid.UUID(booked["appointment"]["id"]))
        assert stale.screening_answers == {"pregnant": True}
        patient = stale.patient_id
        assert (await booking.post(f"/patients/{patient}/erase", headers=admin)).status_code == 200

        async with sessions() as session, session.begin():
            await AppointmentRepository(session).decide(stale.confirmed(), expected="requested")
        async with engine.connect() as connection:
            answers = await connection.scalar(
                text("SELECT screening_answers FROM appointments WHERE id = :id"), {"id": stale.id}
            )
    finally:
        await engine.dispose()
    assert answers is None
