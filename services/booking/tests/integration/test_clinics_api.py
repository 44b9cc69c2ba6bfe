"""Booking's clinic API against the real database: what a caller sees and what gets written."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from clinic_shared.auth import Role
from clinic_shared.tables import outbox
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration


def clinic_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"Clinic {uuid.uuid4().hex[:8]}",
        "address": {"line1": "Herengracht 120", "city": "Amsterdam", "postal_code": "1015 BS", "country": "NL"},
        "timezone": "Europe/Amsterdam",
        "phone": "+31 20 555 0120",
        "opening_hours": {
            "monday": [{"opens": "09:00", "closes": "18:00"}],
            "thursday": [{"opens": "09:00", "closes": "13:00"}, {"opens": "14:00", "closes": "21:00"}],
        },
    }
    body.update(overrides)
    return body


async def outbox_rows(env: TestEnvironment, clinic_id: str | None = None) -> list[dict[str, Any]]:
    engine = create_async_engine(env.database_url("booking"))
    try:
        async with engine.connect() as connection:
            query = select(outbox.c.body).order_by(outbox.c.id)
            if clinic_id:
                query = query.where(outbox.c.body["payload"]["clinic_id"].astext == clinic_id)
            return [row.body for row in await connection.execute(query)]
    finally:
        await engine.dispose()


async def outbox_size(env: TestEnvironment) -> int:
    engine = create_async_engine(env.database_url("booking"))
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(outbox)) or 0)
    finally:
        await engine.dispose()


async def test_an_admin_opens_a_clinic_and_its_announcement_is_written_in_the_same_transaction(
    booking: httpx.AsyncClient, test_env: TestEnvironment
) -> None:
    response = await booking.post(
        "/clinics",
        json=clinic_body(name="Canal Clinic"),
        headers={**test_env.auth_header(Role.ADMIN), "X-Request-ID": "req-clinic-1"},
    )

    assert response.status_code == 201, response.text
    clinic = response.json()
    assert clinic["phone"] == "+31205550120"
    assert clinic["revision"] == 1
    assert clinic["opening_hours"]["thursday"][1] == {"opens": "14:00", "closes": "21:00"}
    assert response.headers["x-request-id"] == "req-clinic-1"
    [event] = await outbox_rows(test_env, clinic["id"])
    assert event["type"] == "booking.clinic.changed"
    assert event["correlation_id"] == "req-clinic-1"
    assert event["producer"] == "booking"
    assert event["payload"]["revision"] == 1
    assert event["payload"]["timezone"] == "Europe/Amsterdam"


async def test_a_manager_changes_their_clinic_and_each_change_is_announced_with_a_new_revision(
    booking: httpx.AsyncClient, test_env: TestEnvironment
) -> None:
    clinic = (await booking.post("/clinics", json=clinic_body(), headers=test_env.auth_header(Role.ADMIN))).json()
    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[UUID(clinic["id"])])

    response = await booking.patch(f"/clinics/{clinic['id']}", json={"phone": "+31 20 555 9999"}, headers=manager)

    assert response.status_code == 200, response.text
    assert response.json()["phone"] == "+31205559999"
    assert response.json()["name"] == clinic["name"]
    assert [e["payload"]["revision"] for e in await outbox_rows(test_env, clinic["id"])] == [1, 2]


async def test_anyone_can_list_and_read_clinics_page_by_page(
    booking: httpx.AsyncClient, test_env: TestEnvironment
) -> None:
    for _ in range(3):
        await booking.post("/clinics", json=clinic_body(), headers=test_env.auth_header(Role.ADMIN))

    first = (await booking.get("/clinics", params={"limit": 2})).json()
    second = (await booking.get("/clinics", params={"limit": 2, "offset": first["next_offset"]})).json()

    assert len(first["items"]) == 2
    assert first["next_offset"] == 2
    assert {c["id"] for c in first["items"]}.isdisjoint({c["id"] for c in second["items"]})
    one = (await booking.get(f"/clinics/{first['items'][0]['id']}")).json()
    assert one == first["items"][0]


@pytest.mark.parametrize(
    ("role", "status", "code"),
    [(None, 401, "not_authenticated"), (Role.FRONT_DESK, 403, "forbidden"), (Role.CLINIC_MANAGER, 403, "forbidden")],
)
async def test_only_admins_open_clinics(
    booking: httpx.AsyncClient, test_env: TestEnvironment, role: Role | None, status: int, code: str
) -> None:
    before = await outbox_size(test_env)
    headers = test_env.auth_header(role) if role else {}

    response = await booking.post("/clinics", json=clinic_body(), headers=headers)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert await outbox_size(test_env) == before


async def test_a_manager_cannot_change_another_clinic(booking: httpx.AsyncClient, test_env: TestEnvironment) -> None:
    clinic = (await booking.post("/clinics", json=clinic_body(), headers=test_env.auth_header(Role.ADMIN))).json()
    other_manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[uuid.uuid4()])

    response = await booking.patch(f"/clinics/{clinic['id']}", json={"name": "Taken over"}, headers=other_manager)

    assert response.status_code == 403
    assert response.json() == {
        "code": "forbidden",
        "message": "this clinic is outside your scope",
        "field": "clinic_id",
    }


async def test_an_unknown_clinic_is_a_404_with_a_machine_readable_body(booking: httpx.AsyncClient) -> None:
    response = await booking.get(f"/clinics/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["code"] == "clinic_not_found"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (clinic_body(timezone="Europe/Atlantis"), "unknown_timezone", "timezone"),
        (clinic_body(phone="020 555 0120"), "invalid_phone", "phone"),
        (
            clinic_body(opening_hours={"friday": [{"opens": "18:00", "closes": "09:00"}]}),
            "invalid_opening_hours",
            "opening_hours.friday",
        ),
        (clinic_body(name=""), "validation_error", "body.name"),
        (
            clinic_body(address={"line1": "x", "city": "y", "postal_code": "1", "country": "nl"}),
            "validation_error",
            "body.address.country",
        ),
        (clinic_body(rating=5), "validation_error", "body.rating"),
        (clinic_body(opening_hours={"funday": []}), "validation_error", "body.opening_hours.funday"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(
    booking: httpx.AsyncClient, test_env: TestEnvironment, body: dict[str, Any], code: str, field: str
) -> None:
    before = await outbox_size(test_env)

    response = await booking.post("/clinics", json=body, headers=test_env.auth_header(Role.ADMIN))

    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert response.json()["field"] == field
    assert await outbox_size(test_env) == before


async def test_malformed_json_is_a_422(booking: httpx.AsyncClient, test_env: TestEnvironment) -> None:
    response = await booking.post(
        "/clinics",
        content=b'{"name": ',
        headers={**test_env.auth_header(Role.ADMIN), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_a_second_clinic_with_the_same_name_is_a_conflict_and_writes_nothing(
    booking: httpx.AsyncClient, test_env: TestEnvironment
) -> None:
    body = clinic_body()
    await booking.post("/clinics", json=body, headers=test_env.auth_header(Role.ADMIN))
    before = await outbox_size(test_env)

    response = await booking.post(
        "/clinics", json={**body, "name": body["name"].upper()}, headers=test_env.auth_header(Role.ADMIN)
    )

    assert response.status_code == 409
    assert response.json() == {
        "code": "clinic_name_taken",
        "message": "a clinic with this name already exists",
        "field": "name",
    }
    assert await outbox_size(test_env) == before


@pytest.mark.parametrize("patch", [{}, {"name": None}, {"timezone": "Nowhere/Special"}])
async def test_a_useless_or_bad_change_is_refused(
    booking: httpx.AsyncClient, test_env: TestEnvironment, patch: dict[str, Any]
) -> None:
    clinic = (await booking.post("/clinics", json=clinic_body(), headers=test_env.auth_header(Role.ADMIN))).json()
    response = await booking.patch(f"/clinics/{clinic['id']}", json=patch, headers=test_env.auth_header(Role.ADMIN))
    assert response.status_code == 422
    assert [e["payload"]["revision"] for e in await outbox_rows(test_env, clinic["id"])] == [1]


# Malformed weekly hours, and the field a 422 names for them (relative to the hours object).
MALFORMED_HOURS = [
    ({"monday": [{"opens": "09:00", "closes": 0}]}, "validation_error", "monday.0.closes"),
    ({"monday": [{"opens": 32400, "closes": "17:00"}]}, "validation_error", "monday.0.opens"),
    ({"monday": [{"opens": "09:00", "closes": 17.5}]}, "validation_error", "monday.0.closes"),
    ({"monday": [{"opens": "09:00", "closes": None}]}, "validation_error", "monday.0.closes"),
    ({"monday": [{"opens": "09:00", "closes": True}]}, "validation_error", "monday.0.closes"),
    ({"monday": [{"opens": "9:00", "closes": "17:00"}]}, "validation_error", "monday.0.opens"),
    ({"monday": [{"opens": "09:00", "closes": "24:00"}]}, "validation_error", "monday.0.closes"),
    ({"monday": [{"opens": "09:00", "closes": "17:00:00"}]}, "validation_error", "monday.0.closes"),
    ({"monday": [{"opens": "09:00"}]}, "validation_error", "monday.0.closes"),
    ({"monday": ["09:00-17:00"]}, "validation_error", "monday.0"),
    ({"monday": {"opens": "09:00", "closes": "17:00"}}, "validation_error", "monday"),
    ({"monday": [{"opens": "17:00", "closes": "09:00"}]}, "invalid_opening_hours", "monday"),
    ({"monday": [{"opens": "09:00", "closes": "09:00"}]}, "invalid_opening_hours", "monday"),
    (
        {"monday": [{"opens": "09:00", "closes": "13:00"}, {"opens": "12:00", "closes": "17:00"}]},
        "invalid_opening_hours",
        "monday",
    ),
    ({"funday": [{"opens": "09:00", "closes": "17:00"}]}, "validation_error", "funday"),
    ({"monday": [{"opens": "09:00", "closes": "17:00", "lunch": "12:00"}]}, "validation_error", "monday.0.lunch"),
]


@pytest.mark.parametrize(("hours", "code", "field"), MALFORMED_HOURS)
async def test_malformed_opening_hours_of_a_clinic_are_a_422_naming_the_field(
    booking: httpx.AsyncClient, test_env: TestEnvironment, hours: dict[str, Any], code: str, field: str
) -> None:
    admin = test_env.auth_header(Role.ADMIN)
    before = await outbox_size(test_env)

    created = await booking.post("/clinics", json=clinic_body(opening_hours=hours), headers=admin)
    clinic = (await booking.post("/clinics", json=clinic_body(), headers=admin)).json()
    changed = await booking.patch(f"/clinics/{clinic['id']}", json={"opening_hours": hours}, headers=admin)

    for answer, prefix in ((created, "body.opening_hours."), (changed, "body.opening_hours.")):
        assert answer.status_code == 422, answer.text
        assert (answer.json()["code"], answer.json()["field"]) == (
            code,
            f"{prefix}{field}" if code == "validation_error" else f"opening_hours.{field}",
        )
    assert await outbox_size(test_env) == before + 1, "only the well-formed clinic was announced"


@pytest.mark.parametrize(("hours", "code", "field"), MALFORMED_HOURS)
async def test_malformed_working_hours_of_a_practitioner_are_a_422_naming_the_field(
    booking: httpx.AsyncClient, test_env: TestEnvironment, hours: dict[str, Any], code: str, field: str
) -> None:
    admin = test_env.auth_header(Role.ADMIN)
    clinic = (await booking.post("/clinics", json=clinic_body(), headers=admin)).json()
    practitioner = (
        await booking.post("/practitioners", json={"name": "Dr Hours", "profession": "dermatologist"}, headers=admin)
    ).json()

    answer = await booking.put(f"/practitioners/{practitioner['id']}/clinics/{clinic['id']}", json=hours, headers=admin)

    assert answer.status_code == 422, answer.text
    assert (answer.json()["code"], answer.json()["field"]) == (
        code,
        f"body.{field}" if code == "validation_error" else field,
    )
