"""Booking a visit through the API against the real database: the journey, double booking made
impossible by the exclusion constraints, Idempotency-Key, and bad input."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from booking.main import SERVICE, create_app
from clinic_shared.auth import Role
from clinic_shared.tables import outbox
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

NewBookable = Callable[..., Awaitable[Any]]


async def test_a_patient_finds_a_time_books_it_and_reads_it_back_through_the_manage_link(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    day = str(place.day)

    search = await booking.get(
        f"/clinics/{place.clinic_id}/availability",
        params={"treatment_id": place.treatment_id, "areas": ["face", "neck"], "from": day, "to": day},
    )
    assert search.status_code == 200, search.text
    slots = search.json()["slots"]
    # Open 09:00-17:00; face + neck = 30 numbing + 45 procedure + 15 cleaning: last start 15:30.
    assert slots[0]["local_start"].startswith(f"{day}T09:00:00")
    assert slots[-1]["local_start"].startswith(f"{day}T15:30:00")
    assert len(slots) == 27

    booked = await booking.post("/appointments", json=place.body(slots[4]["starts_at"], areas=("face", "neck")))

    assert booked.status_code == 201, booked.text
    appointment = booked.json()["appointment"]
    assert appointment["status"] == "requested"
    assert datetime.fromisoformat(appointment["starts_at"]) == datetime.fromisoformat(slots[4]["starts_at"])
    token = booked.json()["manage_token"]
    read = await booking.get(f"/appointments/{appointment['id']}", headers={"Authorization": f"Bearer {token}"})
    assert read.status_code == 200
    assert read.json() == appointment
    [event] = await _events(test_env, "booking.appointment.requested", appointment["id"])
    assert event["payload"]["areas"] == ["face", "neck"]
    assert "email" not in str(event), "no patient contact details in the appointment event"

    after = await booking.get(
        f"/clinics/{place.clinic_id}/availability",
        params={"treatment_id": place.treatment_id, "areas": ["face", "neck"], "from": day, "to": day},
    )
    assert slots[4]["starts_at"] not in {s["starts_at"] for s in after.json()["slots"]}


async def test_fifty_concurrent_requests_for_the_same_time_give_exactly_one_appointment(
    booking: httpx.AsyncClient, new_bookable: NewBookable
) -> None:
    place = await new_bookable()

    responses = await asyncio.gather(*(booking.post("/appointments", json=place.body(place.at(10))) for _ in range(50)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == 49, statuses
    refused = next(r for r in responses if r.status_code == 409).json()
    assert refused["code"] == "slot_taken"
    assert refused["details"]["alternatives"], "a refusal offers other free times"


async def test_overlapping_visits_of_different_lengths_never_both_hold_the_practitioner(
    booking: httpx.AsyncClient, new_bookable: NewBookable
) -> None:
    place = await new_bookable(rooms=2, devices=2)
    # face+neck at 10:00: procedure 10:30-11:15. face at 10:15: procedure 10:45-11:15. One practitioner.
    long, short = await asyncio.gather(
        booking.post("/appointments", json=place.body(place.at(10), areas=("face", "neck"))),
        booking.post("/appointments", json=place.body(place.at(10, 15), areas=("face",))),
    )
    assert sorted([long.status_code, short.status_code]) == [201, 409]


async def test_while_the_cream_works_the_practitioner_treats_another_patient_in_another_room(
    booking: httpx.AsyncClient, new_bookable: NewBookable
) -> None:
    place = await new_bookable(rooms=2, devices=2)
    first = await booking.post("/appointments", json=place.body(place.at(10), areas=("face",)))  # procedure 10:30-11:00
    second = await booking.post("/appointments", json=place.body(place.at(10, 30), areas=("face",)))  # 11:00-11:30
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["appointment"]["practitioner_id"] == first.json()["appointment"]["practitioner_id"]


async def test_the_same_idempotency_key_and_body_give_the_same_answer_and_one_visit(
    booking: httpx.AsyncClient, new_bookable: NewBookable
) -> None:
    place = await new_bookable()
    body, key = place.body(place.at(11)), {"Idempotency-Key": f"retry-{uuid.uuid4()}"}

    first = await booking.post("/appointments", json=body, headers=key)
    again = await booking.post("/appointments", json=body, headers=key)
    other = await booking.post("/appointments", json={**body, "areas": ["neck"]}, headers=key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


async def test_a_manage_link_opens_only_its_own_appointment(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable(rooms=2, devices=2, practitioners=2)
    mine = (await booking.post("/appointments", json=place.body(place.at(9)))).json()
    theirs = (await booking.post("/appointments", json=place.body(place.at(9)))).json()

    crossed = await booking.get(
        f"/appointments/{theirs['appointment']['id']}", headers={"Authorization": f"Bearer {mine['manage_token']}"}
    )
    assert crossed.status_code == 403
    staff = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.UUID(place.clinic_id)])
    assert (await booking.get(f"/appointments/{theirs['appointment']['id']}", headers=staff)).status_code == 200
    elsewhere = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.uuid4()])
    assert (await booking.get(f"/appointments/{theirs['appointment']['id']}", headers=elsewhere)).status_code == 403
    assert (await booking.get(f"/appointments/{theirs['appointment']['id']}")).status_code == 401


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        (lambda p: {"starts_at": "2020-01-06T10:00:00+01:00"}, 422, "start_too_soon", "starts_at"),
        (lambda p: {"starts_at": p.at(10, 7)}, 422, "start_off_grid", "starts_at"),
        (lambda p: {"starts_at": p.at(7)}, 422, "outside_opening_hours", "starts_at"),
        (lambda p: {"starts_at": p.at(16, 30)}, 422, "outside_opening_hours", "starts_at"),
        (lambda p: {"starts_at": "2026-12-01T10:00:00"}, 422, "validation_error", "body.starts_at"),
        (lambda p: {"clinic_id": str(uuid.uuid4())}, 404, "clinic_not_found", "clinic_id"),
        (lambda p: {"treatment_id": str(uuid.uuid4())}, 404, "treatment_not_found", "treatment_id"),
        (lambda p: {"practitioner_id": str(uuid.uuid4())}, 404, "practitioner_not_found", "practitioner_id"),
        (lambda p: {"areas": ["hands"]}, 422, "area_not_offered", "areas"),
        (lambda p: {"areas": ["knees"]}, 422, "validation_error", "body.areas.0"),
        (
            lambda p: {"consent": {"accepted": False, "text_version": "1"}},
            422,
            "validation_error",
            "body.consent.accepted",
        ),
        (
            lambda p: {"patient": {"display_name": "A", "preferred_channel": "sms", "care_messages_consent": True}},
            422,
            "invalid_contact",
            "patient.preferred_channel",
        ),
        (
            lambda p: {"patient": {"display_name": "A", "email": "a@b.c", "care_messages_consent": 1}},
            422,
            "validation_error",
            "body.patient.care_messages_consent",
        ),
    ],
)
async def test_bad_booking_requests_are_refused_with_the_field_and_nothing_is_written(
    booking: httpx.AsyncClient,
    new_bookable: NewBookable,
    test_env: TestEnvironment,
    change: Callable[[Any], dict[str, Any]],
    status: int,
    code: str,
    field: str,
) -> None:
    place = await new_bookable()
    before = await _count_events(test_env)

    response = await booking.post("/appointments", json={**place.body(place.at(10)), **change(place)})

    assert response.status_code == status, response.text
    assert (response.json()["code"], response.json()["field"]) == (code, field)
    assert await _count_events(test_env) == before


async def test_a_practitioner_without_a_valid_credential_that_day_is_not_offered(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    uncredentialed = await booking.post(
        "/practitioners",
        json={"name": "No Licence", "profession": "trained_professional"},
        headers=test_env.auth_header(Role.ADMIN),
    )
    await booking.put(
        f"/practitioners/{uncredentialed.json()['id']}/clinics/{place.clinic_id}",
        json={"monday": [{"opens": "09:00", "closes": "17:00"}], "tuesday": [{"opens": "09:00", "closes": "17:00"}],
              "wednesday": [{"opens": "09:00", "closes": "17:00"}], "thursday": [{"opens": "09:00", "closes": "17:00"}],
              "friday": [{"opens": "09:00", "closes": "17:00"}]},
        headers=test_env.auth_header(Role.ADMIN),
    )  # fmt: skip
    day = str(place.day)
    search = await booking.get(
        f"/clinics/{place.clinic_id}/availability",
        params={"treatment_id": place.treatment_id, "areas": ["face"], "from": day, "to": day},
    )
    offered = {p for slot in search.json()["slots"] for p in slot["practitioner_ids"]}
    assert offered == set(place.practitioner_ids)
    named = await booking.post(
        "/appointments", json=place.body(place.at(10), practitioner_id=uncredentialed.json()["id"])
    )
    assert named.status_code == 409


async def _events(env: TestEnvironment, event_type: str, appointment_id: str) -> list[dict[str, Any]]:
    engine = create_async_engine(env.database_url("booking"))
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(outbox.c.body).where(
                    outbox.c.body["type"].astext == event_type,
                    outbox.c.body["payload"]["appointment_id"].astext == appointment_id,
                )
            )
            return [row.body for row in rows]
    finally:
        await engine.dispose()


async def _count_events(env: TestEnvironment) -> list[int]:
    """Events, patients and appointments written so far: a refused request adds none of them."""
    engine = create_async_engine(env.database_url("booking"))
    try:
        async with engine.connect() as connection:
            return [
                int(await connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
                for table in ("outbox", "patients", "appointments")
            ]
    finally:
        await engine.dispose()


async def test_public_search_is_rate_limited_per_client(test_env: TestEnvironment, new_bookable: NewBookable) -> None:
    place = await new_bookable()
    app = create_app(test_env.settings(SERVICE, public_rate_per_minute=60, public_rate_burst=3))
    params = {"treatment_id": place.treatment_id, "areas": ["face"], "from": str(place.day), "to": str(place.day)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://booking.test") as client:
        answers = [await client.get(f"/clinics/{place.clinic_id}/availability", params=params) for _ in range(4)]
    await app.state.engine.dispose()

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["code"] == "too_many_requests"
    assert int(answers[3].headers["Retry-After"]) >= 1
