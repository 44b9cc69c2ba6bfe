"""Staff views through the API: the day's schedule and visits by status, paginated and scoped."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from clinic_shared.auth import Role
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

NewBookable = Callable[..., Awaitable[Any]]


async def test_the_days_schedule_lists_visits_in_order_without_cancelled_ones(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable(practitioners=2, rooms=2, devices=2)
    later = (await booking.post("/appointments", json=place.body(place.at(14)))).json()
    early = (await booking.post("/appointments", json=place.body(place.at(9)))).json()
    gone = (await booking.post("/appointments", json=place.body(place.at(11)))).json()
    await booking.post(
        f"/appointments/{gone['appointment']['id']}/cancel",
        json={},
        headers={"Authorization": f"Bearer {gone['manage_token']}"},
    )
    desk = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.UUID(place.clinic_id)])

    day = await booking.get(f"/clinics/{place.clinic_id}/schedule", params={"day": str(place.day)}, headers=desk)
    first_page = await booking.get(
        f"/clinics/{place.clinic_id}/schedule", params={"day": str(place.day), "limit": 1}, headers=desk
    )

    assert [v["id"] for v in day.json()["items"]] == [early["appointment"]["id"], later["appointment"]["id"]]
    assert first_page.json()["next_offset"] == 1
    mine = early["appointment"]["practitioner_id"]
    theirs = await booking.get(
        f"/clinics/{place.clinic_id}/schedule",
        params={"day": str(place.day), "practitioner_id": mine},
        headers=desk,
    )
    assert {v["practitioner_id"] for v in theirs.json()["items"]} == {mine}


async def test_visits_are_listed_by_status_and_period(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    kept = (await booking.post("/appointments", json=place.body(place.at(9)))).json()
    gone = (await booking.post("/appointments", json=place.body(place.at(13)))).json()
    await booking.post(
        f"/appointments/{gone['appointment']['id']}/cancel",
        json={},
        headers={"Authorization": f"Bearer {gone['manage_token']}"},
    )
    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[uuid.UUID(place.clinic_id)])
    period = {"from": str(place.day), "to": str(place.day)}

    cancelled = await booking.get(
        f"/clinics/{place.clinic_id}/appointments", params={**period, "status": "cancelled"}, headers=manager
    )
    everything = await booking.get(f"/clinics/{place.clinic_id}/appointments", params=period, headers=manager)

    assert [v["id"] for v in cancelled.json()["items"]] == [gone["appointment"]["id"]]
    assert {v["id"] for v in everything.json()["items"]} == {kept["appointment"]["id"], gone["appointment"]["id"]}
    too_long = await booking.get(
        f"/clinics/{place.clinic_id}/appointments", params={"from": "2026-01-01", "to": "2027-01-01"}, headers=manager
    )
    assert (too_long.status_code, too_long.json()["code"]) == (422, "invalid_period")


async def test_staff_of_another_clinic_and_patients_cannot_see_a_clinics_schedule(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    params = {"day": str(place.day)}
    elsewhere = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.uuid4()])
    patient = test_env.auth_header(Role.PATIENT)
    assert (
        await booking.get(f"/clinics/{place.clinic_id}/schedule", params=params, headers=elsewhere)
    ).status_code == 403
    assert (
        await booking.get(f"/clinics/{place.clinic_id}/schedule", params=params, headers=patient)
    ).status_code == 403
    assert (await booking.get(f"/clinics/{place.clinic_id}/schedule", params=params)).status_code == 401
