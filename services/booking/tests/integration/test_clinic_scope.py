"""Tenancy across booking's API: every route that takes a clinic's, patient's, appointment's, course's
or waitlist entry's id refuses staff of another clinic with 403, whatever the body (the routes are read
off the OpenAPI document, so a new one is covered at once); the public ones are named here."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from booking.main import SERVICE, create_app
from clinic_shared.auth import STAFF_ROLES, Role
from clinic_shared.testing.plugin import TestEnvironment
from clinic_shared.testing.scope import let_through, scoped_routes

pytestmark = pytest.mark.integration

NewBookable = Callable[..., Awaitable[Any]]

# What a patient reads before booking: anyone may, staff of any clinic included.
PUBLIC = {
    ("GET", "/clinics/{clinic_id}"),
    ("GET", "/clinics/{clinic_id}/availability"),
    ("GET", "/clinics/{clinic_id}/screening"),
    ("GET", "/clinics/{clinic_id}/treatments"),
    ("GET", "/clinics/{clinic_id}/practitioners"),
    ("POST", "/clinics/{clinic_id}/screening/check"),
}


async def test_every_scoped_route_refuses_staff_of_another_clinic(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place, elsewhere = await new_bookable(), await new_bookable()
    ids = await _records_of(booking, test_env, place)
    routes = scoped_routes(create_app(test_env.settings(SERVICE)), public=PUBLIC)
    assert len(routes) >= 30, routes
    outsiders = {
        role.value: test_env.auth_header(role, clinics=[uuid.UUID(elsewhere.clinic_id)])
        for role in STAFF_ROLES
        if role is not Role.ADMIN
    }

    assert await let_through(booking, routes, ids=ids, callers=outsiders) == []


async def test_staff_book_for_a_caller_only_at_their_own_clinics(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place, elsewhere = await new_bookable(), await new_bookable()
    front_desk = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.UUID(elsewhere.clinic_id)])

    answer = await booking.post("/appointments", json=place.body(place.at(10)), headers=front_desk)

    assert (answer.status_code, answer.json()["field"]) == (403, "clinic_id")


async def test_a_patients_link_does_not_check_in_complete_or_mark_a_no_show(
    booking: httpx.AsyncClient, new_bookable: NewBookable
) -> None:
    place = await new_bookable()
    booked = (await booking.post("/appointments", json=place.body(place.at(10)))).json()
    link = {"Authorization": f"Bearer {booked['manage_token']}"}
    visit = booked["appointment"]["id"]
    completion = {"needle_depths_mm": {"face": "1.0"}, "lots_used": [{"item_id": str(uuid.uuid4()), "lot_number": "L"}]}

    for action, body in (("check-in", None), ("complete", completion), ("no-show", None)):
        answer = await booking.post(f"/appointments/{visit}/{action}", json=body, headers=link)
        assert answer.status_code == 403, (action, answer.text)
    assert (await booking.get(f"/appointments/{visit}", headers=link)).json()["status"] == "requested"


async def _records_of(booking: httpx.AsyncClient, test_env: TestEnvironment, place: Any) -> dict[str, str]:
    """Real ids of one clinic's records, one of each kind a route can name."""
    admin = test_env.auth_header(Role.ADMIN)
    booked = await booking.post("/appointments", json=place.body(place.at(10), course_sessions=2))
    assert booked.status_code == 201, booked.text
    visit = booked.json()["appointment"]
    screening = await booking.get(f"/appointments/{visit['id']}/screening", headers=admin)
    saturday = place.day + timedelta(days=(5 - place.day.weekday()) % 7)  # the clinic is closed at weekends
    joined = await booking.post(
        f"/clinics/{place.clinic_id}/waitlist",
        json={
            "treatment_id": place.treatment_id, "areas": ["face"], "from": str(saturday),
            "to": str(saturday + timedelta(days=1)), "patient": place.body(place.at(10))["patient"],
            "consent": {"accepted": True, "text_version": "2026-11"},
        },
    )  # fmt: skip
    assert joined.status_code == 201, joined.text
    closure = await booking.post(
        f"/clinics/{place.clinic_id}/closures",
        json={"first_day": str(place.day + timedelta(days=30)), "last_day": str(place.day + timedelta(days=30))},
        headers=admin,
    )
    assert closure.status_code == 201, closure.text
    return {
        "clinic_id": place.clinic_id,
        "appointment_id": visit["id"],
        "patient_id": screening.json()["patient_id"],
        "course_id": visit["course_id"],
        "entry_id": joined.json()["entry"]["id"],
        "practitioner_id": place.practitioner_ids[0],
        "closure_id": closure.json()["id"],
    }
