"""Screening, patients' health details and erasure, through the API against the real database."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from booking.main import SERVICE
from booking.settings import BookingSettings
from clinic_shared import manage_links
from clinic_shared.auth import Role
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

NewBookable = Callable[..., Awaitable[Any]]

QUESTIONS = [
    {
        "key": "active_skin_infection",
        "text": "Do you have an active skin infection?",
        "flags_when": True,
        "effect": "block",
    },
    {"key": "blood_thinners", "text": "Do you take blood thinners?", "flags_when": True, "effect": "review"},
]
HEALTH = {"date_of_birth": "1990-04-12", "skin_type": 3, "concerns": ["acne_scars", "enlarged_pores"]}


async def _with_screening(booking: httpx.AsyncClient, env: TestEnvironment, new_bookable: NewBookable) -> Any:
    place = await new_bookable()
    response = await booking.put(
        f"/clinics/{place.clinic_id}/screening", json=QUESTIONS, headers=env.auth_header(Role.ADMIN)
    )
    assert response.status_code == 200, response.text
    return place


async def _patient_of(env: TestEnvironment, booked: dict[str, Any]) -> Any:
    rows = await _sql(env, "SELECT patient_id FROM appointments WHERE id = :id", id=booked["appointment"]["id"])
    return rows[0].patient_id


async def _sql(env: TestEnvironment, query: str, **params: Any) -> list[Any]:
    engine = create_async_engine(env.database_url("booking"))
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(text(query), params)).all())
    finally:
        await engine.dispose()


async def test_screening_answers_flag_a_booking_for_review_or_send_the_patient_to_the_clinic(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await _with_screening(booking, test_env, new_bookable)
    public = await booking.get(f"/clinics/{place.clinic_id}/screening")
    assert [q["key"] for q in public.json()] == ["active_skin_infection", "blood_thinners"]

    unanswered = await booking.post("/appointments", json=place.body(place.at(9)))
    blocked = await booking.post(
        "/appointments",
        json=place.body(place.at(9), screening_answers={"active_skin_infection": True, "blood_thinners": False}),
    )
    flagged = await booking.post(
        "/appointments",
        json=place.body(place.at(9), screening_answers={"active_skin_infection": False, "blood_thinners": True}),
    )

    assert (unanswered.status_code, unanswered.json()["code"]) == (422, "screening_incomplete")
    unknown = await booking.post(
        "/appointments",
        json=place.body(
            place.at(9),
            screening_answers={"active_skin_infection": False, "blood_thinners": False, "made_up": True},
        ),
    )
    assert (unknown.status_code, unknown.json()["code"], unknown.json()["field"]) == (
        422, "invalid_screening", "screening_answers",
    )  # fmt: skip
    assert (blocked.status_code, blocked.json()["code"]) == (422, "screening_requires_clinic_contact")
    assert flagged.status_code == 201, flagged.text
    assert flagged.json()["appointment"]["screening_outcome"] is None, "patients and stored answers never see it"
    staff = test_env.auth_header(Role.PRACTITIONER, clinics=[uuid.UUID(place.clinic_id)])
    seen = await booking.get(f"/appointments/{flagged.json()['appointment']['id']}", headers=staff)
    assert seen.json()["screening_outcome"] == "review"


async def test_a_patient_learns_what_the_answers_mean_before_choosing_a_time_and_nothing_is_stored(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await _with_screening(booking, test_env, new_bookable)
    path = f"/clinics/{place.clinic_id}/screening/check"
    before = await _sql(test_env, "SELECT count(*) AS n FROM appointments")

    clear = await booking.post(path, json={"answers": {"active_skin_infection": False, "blood_thinners": False}})
    review = await booking.post(path, json={"answers": {"active_skin_infection": False, "blood_thinners": True}})
    call = await booking.post(path, json={"answers": {"active_skin_infection": True, "blood_thinners": False}})
    missing = await booking.post(path, json={"answers": {"blood_thinners": True}})
    unknown = await booking.post(f"/clinics/{uuid.uuid4()}/screening/check", json={"answers": {}})

    assert (clear.status_code, clear.json()) == (200, {"outcome": "clear"})
    assert review.json() == {"outcome": "review"}
    assert (call.status_code, call.json()["code"]) == (422, "screening_requires_clinic_contact")
    assert (missing.status_code, missing.json()["code"]) == (422, "screening_incomplete")
    assert unknown.status_code == 404
    assert await _sql(test_env, "SELECT count(*) AS n FROM appointments") == before


async def test_patients_choose_from_the_practitioners_working_at_the_clinic_by_name_only(
    booking: httpx.AsyncClient, new_bookable: NewBookable
) -> None:
    place = await new_bookable(practitioners=2)
    elsewhere = await new_bookable(practitioners=1)

    listed = await booking.get(f"/clinics/{place.clinic_id}/practitioners")

    assert listed.status_code == 200
    assert {p["id"] for p in listed.json()} == set(place.practitioner_ids)
    assert all(set(p) == {"id", "name", "profession"} for p in listed.json()), "no credentials, no hours"
    assert not {p["id"] for p in listed.json()} & set(elsewhere.practitioner_ids)
    assert (await booking.get(f"/clinics/{uuid.uuid4()}/practitioners")).status_code == 404


async def test_practitioners_of_the_clinic_read_why_a_booking_was_flagged_and_the_read_is_recorded(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await _with_screening(booking, test_env, new_bookable)
    flagged = await booking.post(
        "/appointments",
        json=place.body(place.at(9), screening_answers={"active_skin_infection": False, "blood_thinners": True}),
    )
    appointment = flagged.json()["appointment"]
    practitioner = test_env.auth_header(Role.PRACTITIONER, clinics=[uuid.UUID(place.clinic_id)])

    read = await booking.get(f"/appointments/{appointment['id']}/screening", headers=practitioner)

    assert read.status_code == 200, read.text
    assert read.json()["outcome"] == "review"
    assert sorted((a["key"], a["answer"], a["flagged"]) for a in read.json()["answers"]) == [
        ("active_skin_infection", False, False),
        ("blood_thinners", True, True),
    ]
    assert {a["question"] for a in read.json()["answers"]} == {q["text"] for q in QUESTIONS}
    patient_id = await _patient_of(test_env, flagged.json())
    reads = await _sql(test_env, "SELECT role FROM health_data_reads WHERE patient_id = :id", id=patient_id)
    assert [r.role for r in reads] == ["practitioner"]

    desk = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.UUID(place.clinic_id)])
    other_clinic = test_env.auth_header(Role.PRACTITIONER, clinics=[uuid.uuid4()])
    link = {"Authorization": f"Bearer {flagged.json()['manage_token']}"}
    assert (await booking.get(f"/appointments/{appointment['id']}/screening", headers=desk)).status_code == 403
    assert (await booking.get(f"/appointments/{appointment['id']}/screening", headers=other_clinic)).status_code == 403
    assert (await booking.get(f"/appointments/{appointment['id']}/screening", headers=link)).status_code == 401
    reads = await _sql(test_env, "SELECT role FROM health_data_reads WHERE patient_id = :id", id=patient_id)
    assert len(reads) == 1, "refused reads are not reads"


async def test_staff_of_the_clinic_read_health_details_and_every_read_is_recorded(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    body = place.body(place.at(10))
    body["patient"] |= HEALTH
    booked = (await booking.post("/appointments", json=body)).json()
    patient_id = await _patient_of(test_env, booked)
    desk = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.UUID(place.clinic_id)])

    record = await booking.get(f"/patients/{patient_id}", headers=desk)
    elsewhere = await booking.get(
        f"/patients/{patient_id}", headers=test_env.auth_header(Role.CLINIC_MANAGER, clinics=[uuid.uuid4()])
    )

    assert record.status_code == 200
    assert (record.json()["skin_type"], record.json()["concerns"]) == (3, ["acne_scars", "enlarged_pores"])
    assert elsewhere.status_code == 403
    reads = await _sql(test_env, "SELECT read_by, role FROM health_data_reads WHERE patient_id = :id", id=patient_id)
    assert [(r.read_by, r.role) for r in reads] == [("test-user", "front_desk")]
    [event] = await _sql(
        test_env,
        "SELECT body FROM outbox WHERE body->>'type' = 'booking.patient.contact_changed'"
        " AND body->'payload'->>'patient_id' = :id",
        id=str(patient_id),
    )
    assert event.body["payload"]["email"] == "sam@example.org"
    assert "skin_type" not in str(event.body), "no health data on the bus"
    assert "1990" not in str(event.body), "no health data on the bus"


async def test_a_patient_erases_themselves_and_their_visit_stays_anonymised(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await _with_screening(booking, test_env, new_bookable)
    body = place.body(place.at(11), screening_answers={"active_skin_infection": False, "blood_thinners": True})
    body["patient"] |= HEALTH
    booked = (await booking.post("/appointments", json=body)).json()
    link = {"Authorization": f"Bearer {booked['manage_token']}"}
    patient_id = await _patient_of(test_env, booked)

    someone_else = await booking.post(f"/patients/{uuid.uuid4()}/erase", headers=link)
    erased = await booking.post(f"/patients/{patient_id}/erase", headers=link)

    assert someone_else.status_code == 403
    assert erased.status_code == 200, erased.text
    record = (await booking.get(f"/patients/{patient_id}", headers=test_env.auth_header(Role.ADMIN))).json()
    assert (record["display_name"], record["email"], record["skin_type"], record["concerns"]) == ("", None, None, [])
    assert record["erased_at"] is not None
    assert (await booking.get(f"/appointments/{booked['appointment']['id']}", headers=link)).status_code == 200
    contact = await _sql(
        test_env,
        "SELECT body FROM outbox WHERE body->>'type' = 'booking.patient.contact_changed'"
        " AND body->'payload'->>'patient_id' = :id",
        id=str(patient_id),
    )
    assert "sam@example.org" not in str([row.body for row in contact]), "announced contact details are forgotten"
    assert await _sql(
        test_env,
        "SELECT 1 FROM outbox WHERE body->>'type' = 'booking.patient.erased' AND body->'payload'->>'patient_id' = :id",
        id=str(patient_id),
    )
    answers = await _sql(test_env, "SELECT screening_answers FROM appointments WHERE patient_id = :id", id=patient_id)
    assert [row.screening_answers for row in answers] == [None], "the answers given at booking are gone"


async def test_only_admins_among_staff_erase_patients(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    booked = (await booking.post("/appointments", json=place.body(place.at(12)))).json()
    patient_id = await _patient_of(test_env, booked)
    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[uuid.UUID(place.clinic_id)])
    assert (await booking.post(f"/patients/{patient_id}/erase", headers=manager)).status_code == 403


async def test_a_returning_patient_books_again_on_the_same_record_with_their_manage_link(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    first = (await booking.post("/appointments", json=place.body(place.at(9)))).json()
    link = {"Authorization": f"Bearer {first['manage_token']}"}
    moved_house = place.body(place.at(11))
    moved_house["patient"] |= {"email": "sam.new@example.org", "skin_type": 4}

    again = await booking.post("/appointments", json=moved_house, headers=link)
    stranger = await booking.post("/appointments", json=place.body(place.at(13)))
    forged = await booking.post("/appointments", json=place.body(place.at(14)), headers={"Authorization": "Bearer x"})

    assert again.status_code == 201, again.text
    patient_id = await _patient_of(test_env, first)
    assert await _patient_of(test_env, again.json()) == patient_id
    assert await _patient_of(test_env, stranger.json()) != patient_id, "no token: a new record"
    assert forged.status_code == 401
    by_phone = await booking.post(
        "/appointments",
        json=place.body(place.at(14, 15)),
        headers=test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.UUID(place.clinic_id)]),
    )
    assert by_phone.status_code == 201, "the front desk books for a caller, as a new record"
    assert by_phone.json()["manage_token"] is None, "the patient's link is not handed to the front desk"
    as_patient_role = await booking.post(
        "/appointments", json=place.body(place.at(15, 30)), headers=test_env.auth_header(Role.PATIENT)
    )
    assert as_patient_role.status_code == 403
    [row] = await _sql(test_env, "SELECT email, skin_type, revision FROM patients WHERE id = :id", id=patient_id)
    assert (row.email, row.skin_type, row.revision) == ("sam.new@example.org", 4, 2)
    revisions = await _sql(
        test_env,
        "SELECT body->'payload'->>'revision' AS revision FROM outbox"
        " WHERE body->>'type' = 'booking.patient.contact_changed' AND body->'payload'->>'patient_id' = :id ORDER BY id",
        id=str(patient_id),
    )
    assert [r.revision for r in revisions] == ["1", "2"], "notifications hear of the new address"

    erased = await booking.post(f"/patients/{patient_id}/erase", headers=link)
    assert erased.status_code == 200, erased.text
    after_erasure = await booking.post("/appointments", json=place.body(place.at(15)), headers=link)
    assert (after_erasure.status_code, after_erasure.json()["code"]) == (404, "patient_not_found")


async def test_a_link_whose_patient_record_is_gone_is_a_clear_404_about_the_link(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    settings = test_env.settings(SERVICE)
    assert isinstance(settings, BookingSettings)
    orphan = manage_links.issue(
        settings.manage_link_secret.get_secret_value(), appointment_id=uuid.uuid4(), patient_id=uuid.uuid4(),
        visit_ends_at=datetime.now(UTC) + timedelta(days=1),
    )  # fmt: skip

    answer = await booking.post(
        "/appointments", json=place.body(place.at(9)), headers={"Authorization": f"Bearer {orphan}"}
    )

    assert answer.status_code == 404
    assert (answer.json()["code"], answer.json()["field"]) == ("patient_not_found", "authorization")
