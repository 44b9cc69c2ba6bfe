"""The waitlist against the real database: a freed time is offered to the first patient waiting, held
for them (no one else can book it), and accepted, declined, left to lapse or withdrawn."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from booking.main import SERVICE
from booking.service import waitlist
from booking.settings import BookingSettings
from clinic_shared.auth import Role
from clinic_shared.db import create_session_factory
from clinic_shared.messaging import Broker
from clinic_shared.testing.messaging import eventually
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

NewBookable = Callable[..., Awaitable[Any]]
# One room and a 75-minute visit (30 numbing + 30 face + 15 turnover): these six fill 09:00-17:00.
FULL_DAY = ((9, 0), (10, 15), (11, 30), (12, 45), (14, 0), (15, 15))


@pytest.fixture
async def engine(test_env: TestEnvironment, service_databases: dict[str, str]) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(test_env.database_url("booking"))
    yield engine
    await engine.dispose()


@pytest.fixture
def run_job(test_env: TestEnvironment, engine: AsyncEngine) -> Callable[[], Awaitable[None]]:
    settings = test_env.settings(SERVICE)
    assert isinstance(settings, BookingSettings)

    async def run() -> None:
        await waitlist.offer_freed_times(create_session_factory(engine), settings)

    return run


async def _full_day(booking: httpx.AsyncClient, new_bookable: NewBookable) -> tuple[Any, list[dict[str, Any]]]:
    place = await new_bookable()
    booked = []
    for hour, minute in FULL_DAY:
        response = await booking.post("/appointments", json=place.body(place.at(hour, minute)))
        assert response.status_code == 201, response.text
        booked.append(response.json())
    free = await booking.get(
        f"/clinics/{place.clinic_id}/availability",
        params={"treatment_id": place.treatment_id, "areas": "face", "from": str(place.day), "to": str(place.day)},
    )
    assert free.json()["slots"] == []
    return place, booked


def _join_body(place: Any, name: str = "Wren Waiting", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "treatment_id": place.treatment_id,
        "areas": ["face"],
        "from": str(place.day),
        "to": str(place.day),
        "patient": {"display_name": name, "email": "wren@example.org", "care_messages_consent": True},
        "consent": {"accepted": True, "text_version": "2026-11"},
    }
    body.update(overrides)
    return body


async def _join(booking: httpx.AsyncClient, place: Any, name: str = "Wren Waiting") -> dict[str, Any]:
    response = await booking.post(f"/clinics/{place.clinic_id}/waitlist", json=_join_body(place, name))
    assert response.status_code == 201, response.text
    joined: dict[str, Any] = response.json()
    return joined


def _link(joined: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {joined['waitlist_token']}"}


async def _entry(booking: httpx.AsyncClient, joined: dict[str, Any]) -> dict[str, Any]:
    response = await booking.get(f"/waitlist/{joined['entry']['id']}", headers=_link(joined))
    assert response.status_code == 200, response.text
    entry: dict[str, Any] = response.json()
    return entry


async def _cancel(booking: httpx.AsyncClient, env: TestEnvironment, booked: dict[str, Any]) -> None:
    response = await booking.post(
        f"/appointments/{booked['appointment']['id']}/cancel",
        json={"reason_code": "illness"},
        headers=env.auth_header(Role.ADMIN),
    )
    assert response.status_code == 200, response.text


@dataclass
class OfferMade:
    """A full day, two patients waiting, one visit cancelled and its time offered to the first."""

    place: Any
    booked: list[dict[str, Any]]
    first: dict[str, Any]
    second: dict[str, Any]
    offer: dict[str, Any]


async def _offer_to_first(
    booking: httpx.AsyncClient,
    env: TestEnvironment,
    new_bookable: NewBookable,
    run_job: Callable[[], Awaitable[None]],
    *,
    cancelled: int,
) -> OfferMade:
    place, booked = await _full_day(booking, new_bookable)
    first = await _join(booking, place, "First Waiting")
    second = await _join(booking, place, "Second Waiting")
    await _cancel(booking, env, booked[cancelled])
    await run_job()
    return OfferMade(place, booked, first, second, (await _entry(booking, first))["offer"])


async def _events(engine: AsyncEngine, event_type: str, entry_id: str) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT body->'payload' AS payload FROM outbox WHERE body->>'type' = :type"
                " AND body->'payload'->>'waitlist_entry_id' = :entry ORDER BY id"
            ),
            {"type": event_type, "entry": entry_id},
        )
        return [row.payload for row in rows]


async def test_joining_when_times_are_free_points_to_them(
    booking: httpx.AsyncClient, test_env: TestEnvironment, new_bookable: NewBookable
) -> None:
    place = await new_bookable()
    response = await booking.post(f"/clinics/{place.clinic_id}/waitlist", json=_join_body(place))
    assert response.status_code == 409, response.text
    error = response.json()
    assert error["code"] == "times_available"
    assert len(error["details"]["alternatives"]) == 5
    listed = await booking.get(
        f"/clinics/{place.clinic_id}/waitlist", headers=_staff(test_env, place), params={"status": "waiting"}
    )
    assert listed.json()["items"] == []


def _staff(env: TestEnvironment, place: Any, role: Role = Role.FRONT_DESK) -> dict[str, str]:
    return env.auth_header(role, clinics=[uuid.UUID(place.clinic_id)])


async def test_a_freed_time_is_offered_to_the_first_waiting_and_held_for_them(
    booking: httpx.AsyncClient,
    test_env: TestEnvironment,
    new_bookable: NewBookable,
    engine: AsyncEngine,
    run_job: Callable[[], Awaitable[None]],
) -> None:
    place, booked = await _full_day(booking, new_bookable)
    first = await _join(booking, place, "First Waiting")
    second = await _join(booking, place, "Second Waiting")
    assert first["entry"]["status"] == "waiting"
    assert first["entry"]["from"] == str(place.day)

    await _cancel(booking, test_env, booked[2])  # 11:30 frees up
    await run_job()

    entry = await _entry(booking, first)
    assert entry["status"] == "offered"
    offer = entry["offer"]
    assert offer["starts_at"] == booked[2]["appointment"]["starts_at"]
    assert (await _entry(booking, second))["status"] == "waiting"  # one time, one offer: first come first
    made = await _events(engine, "booking.waitlist.offer_made", first["entry"]["id"])
    assert [m["offer_id"] for m in made] == [offer["appointment_id"]]
    assert datetime.fromisoformat(made[0]["expires_at"]) == datetime.fromisoformat(offer["expires_at"])
    held_for = datetime.fromisoformat(offer["expires_at"]) - datetime.now(UTC)
    assert timedelta(minutes=115) < held_for <= timedelta(minutes=120)  # the configured two hours

    # The time is held for them: the search does not show it and nobody else can book it.
    free = await booking.get(
        f"/clinics/{place.clinic_id}/availability",
        params={"treatment_id": place.treatment_id, "areas": "face", "from": str(place.day), "to": str(place.day)},
    )
    assert free.json()["slots"] == []
    taken = await booking.post("/appointments", json=place.body(place.at(11, 30)))
    assert taken.status_code == 409
    assert taken.json()["code"] == "slot_taken"
    await run_job()  # running again offers nothing more
    assert (await _entry(booking, second))["status"] == "waiting"

    accepted = await booking.post(
        f"/waitlist/{first['entry']['id']}/offer/accept", json={"screening_answers": {}}, headers=_link(first)
    )
    assert accepted.status_code == 200, accepted.text
    appointment = accepted.json()["appointment"]
    assert appointment["id"] == offer["appointment_id"]
    assert appointment["status"] == "requested"
    mine = await booking.get(
        f"/appointments/{appointment['id']}", headers={"Authorization": f"Bearer {accepted.json()['manage_token']}"}
    )
    assert mine.json()["status"] == "requested"
    assert (await _entry(booking, first))["status"] == "booked"
    async with engine.connect() as connection:
        announced = await connection.scalar(
            text(
                "SELECT count(*) FROM outbox WHERE body->>'type' = 'booking.appointment.requested'"
                " AND body->'payload'->>'appointment_id' = :id"
            ),
            {"id": appointment["id"]},
        )
    assert announced == 1  # inventory is asked for the supplies, as for any booking

    again = await booking.post(f"/waitlist/{first['entry']['id']}/offer/accept", json={}, headers=_link(first))
    assert again.status_code == 409
    assert again.json()["code"] == "no_open_offer"


async def test_a_declined_offer_goes_to_the_next_patient_and_not_back(
    booking: httpx.AsyncClient,
    test_env: TestEnvironment,
    new_bookable: NewBookable,
    engine: AsyncEngine,
    run_job: Callable[[], Awaitable[None]],
) -> None:
    made = await _offer_to_first(booking, test_env, new_bookable, run_job, cancelled=0)
    first, second, offered = made.first, made.second, made.offer

    declined = await booking.post(f"/waitlist/{first['entry']['id']}/offer/decline", headers=_link(first))
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "waiting"  # keeps their place for other times
    await run_job()

    assert (await _entry(booking, second))["offer"]["starts_at"] == offered["starts_at"]
    assert (await _entry(booking, first))["status"] == "waiting"
    assert len(await _events(engine, "booking.waitlist.offer_made", first["entry"]["id"])) == 1


async def test_a_lapsed_offer_expires_and_passes_on(
    booking: httpx.AsyncClient,
    test_env: TestEnvironment,
    new_bookable: NewBookable,
    engine: AsyncEngine,
    run_job: Callable[[], Awaitable[None]],
) -> None:
    made = await _offer_to_first(booking, test_env, new_bookable, run_job, cancelled=5)
    first, second, offer = made.first, made.second, made.offer
    async with engine.begin() as connection:  # the hold time has passed
        await connection.execute(
            text("UPDATE appointments SET offer_expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": offer["appointment_id"]},
        )

    late = await booking.post(f"/waitlist/{first['entry']['id']}/offer/accept", json={}, headers=_link(first))
    assert late.status_code == 409
    assert late.json()["code"] == "offer_lapsed"

    await run_job()
    expired = await _events(engine, "booking.waitlist.offer_expired", first["entry"]["id"])
    assert [e["offer_id"] for e in expired] == [offer["appointment_id"]]
    assert (await _entry(booking, first))["status"] == "waiting"
    await run_job()  # the freed time, recorded when the offer lapsed, goes to the next in line
    assert (await _entry(booking, second))["offer"]["starts_at"] == offer["starts_at"]


async def test_leaving_withdraws_the_offer_and_erasure_closes_entries(
    booking: httpx.AsyncClient,
    test_env: TestEnvironment,
    new_bookable: NewBookable,
    engine: AsyncEngine,
    run_job: Callable[[], Awaitable[None]],
) -> None:
    made = await _offer_to_first(booking, test_env, new_bookable, run_job, cancelled=1)
    place, first, second, offer = made.place, made.first, made.second, made.offer

    left = await booking.post(f"/waitlist/{first['entry']['id']}/leave", headers=_link(first))
    assert left.status_code == 200
    assert left.json()["status"] == "left"
    again = await booking.post(f"/waitlist/{first['entry']['id']}/leave", headers=_link(first))
    assert again.status_code == 409
    assert again.json()["code"] == "waitlist_entry_closed"
    await run_job()
    assert (await _entry(booking, second))["offer"]["starts_at"] == offer["starts_at"]

    async with engine.connect() as connection:
        patient_id = await connection.scalar(
            text("SELECT patient_id FROM waitlist_entries WHERE id = :id"), {"id": second["entry"]["id"]}
        )
    erased = await booking.post(f"/patients/{patient_id}/erase", headers=test_env.auth_header(Role.ADMIN))
    assert erased.status_code == 200, erased.text
    entry = await _entry(booking, second)
    assert entry["status"] == "left"
    assert entry["offer"] is None
    free = await booking.get(
        f"/clinics/{place.clinic_id}/availability",
        params={"treatment_id": place.treatment_id, "areas": "face", "from": str(place.day), "to": str(place.day)},
    )
    assert [slot["starts_at"] for slot in free.json()["slots"]] == [offer["starts_at"]]


async def test_concurrent_workers_make_one_offer_per_freed_time(
    booking: httpx.AsyncClient,
    test_env: TestEnvironment,
    new_bookable: NewBookable,
    engine: AsyncEngine,
    run_job: Callable[[], Awaitable[None]],
) -> None:
    place, booked = await _full_day(booking, new_bookable)
    entries = [await _join(booking, place, f"Patient {n}") for n in range(3)]
    await _cancel(booking, test_env, booked[3])
    await asyncio.gather(*(run_job() for _ in range(4)))

    statuses = [(await _entry(booking, joined))["status"] for joined in entries]
    assert statuses == ["offered", "waiting", "waiting"]
    async with engine.connect() as connection:
        offers = await connection.scalar(
            text("SELECT count(*) FROM appointments WHERE clinic_id = :clinic AND status = 'offered'"),
            {"clinic": place.clinic_id},
        )
    assert offers == 1


async def test_links_are_scoped_and_bad_requests_refused(
    booking: httpx.AsyncClient, test_env: TestEnvironment, new_bookable: NewBookable
) -> None:
    place, booked = await _full_day(booking, new_bookable)
    first = await _join(booking, place, "First Waiting")
    second = await _join(booking, place, "Second Waiting")

    other = await booking.get(f"/waitlist/{second['entry']['id']}", headers=_link(first))
    assert other.status_code == 403
    appointment_link = {"Authorization": f"Bearer {booked[0]['manage_token']}"}
    assert (await booking.get(f"/waitlist/{first['entry']['id']}", headers=appointment_link)).status_code == 401
    waitlist_on_visit = await booking.get(f"/appointments/{booked[0]['appointment']['id']}", headers=_link(first))
    assert waitlist_on_visit.status_code == 401
    assert (await booking.get(f"/waitlist/{uuid.uuid4()}", headers=_staff(test_env, place))).status_code == 404
    elsewhere = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.uuid4()])
    assert (await booking.get(f"/waitlist/{first['entry']['id']}", headers=elsewhere)).status_code == 403
    assert (await booking.get(f"/clinics/{place.clinic_id}/waitlist", headers=elsewhere)).status_code == 403

    listed = await booking.get(
        f"/clinics/{place.clinic_id}/waitlist", headers=_staff(test_env, place), params={"limit": 1}
    )
    assert [e["id"] for e in listed.json()["items"]] == [first["entry"]["id"]]
    assert listed.json()["next_offset"] == 1

    day = place.day
    for change, status, code, field in (
        ({"to": str(day - timedelta(days=1))}, 422, "invalid_waitlist_entry", "to"),
        ({"to": str(day + timedelta(days=120))}, 422, "invalid_waitlist_entry", "to"),
        # Inside 92 days, but past the clinic's 60-day horizon: nothing there could ever be offered.
        ({"from": str(day + timedelta(days=55)), "to": str(day + timedelta(days=70))}, 422,
         "invalid_waitlist_entry", "to"),
        ({"from": "2200-12-01", "to": "2200-12-20"}, 422, "invalid_waitlist_entry", "to"),
        ({"areas": []}, 422, "validation_error", "body.areas"),
        ({"treatment_id": str(uuid.uuid4())}, 404, "treatment_not_found", "treatment_id"),
    ):  # fmt: skip
        response = await booking.post(f"/clinics/{place.clinic_id}/waitlist", json=_join_body(place, **change))
        assert (response.status_code, response.json()["code"], response.json()["field"]) == (status, code, field), (
            change,
            response.text,
        )
    unknown_clinic = await booking.post(f"/clinics/{uuid.uuid4()}/waitlist", json=_join_body(place))
    assert unknown_clinic.status_code == 404


async def test_the_worker_makes_offers_on_its_own(
    booking: httpx.AsyncClient, test_env: TestEnvironment, new_bookable: NewBookable, inventory: Broker
) -> None:
    """The job is wired into the worker (the `inventory` fixture runs booking's worker)."""
    del inventory
    place, booked = await _full_day(booking, new_bookable)
    joined = await _join(booking, place)
    await _cancel(booking, test_env, booked[4])

    async def offered() -> bool:
        return (await _entry(booking, joined))["status"] == "offered"

    await eventually(offered, what="the worker to offer the freed time")


async def test_two_freed_times_handled_by_racing_workers_are_both_offered(
    booking: httpx.AsyncClient,
    test_env: TestEnvironment,
    new_bookable: NewBookable,
    engine: AsyncEngine,
    run_job: Callable[[], Awaitable[None]],
) -> None:
    place, booked = await _full_day(booking, new_bookable)
    entries = [await _join(booking, place, f"Patient {n}") for n in range(3)]
    await _cancel(booking, test_env, booked[0])
    await _cancel(booking, test_env, booked[4])

    await asyncio.gather(run_job(), run_job())
    await run_job()  # a freed time a busy worker put back is offered by the next run

    statuses = [(await _entry(booking, joined))["status"] for joined in entries]
    assert statuses == ["offered", "offered", "waiting"]
    async with engine.connect() as connection:
        backlog = await connection.scalar(text("SELECT count(*) FROM freed_times"))
    assert backlog == 0


async def test_a_returning_patient_waits_on_their_own_record(
    booking: httpx.AsyncClient, new_bookable: NewBookable, engine: AsyncEngine
) -> None:
    place, booked = await _full_day(booking, new_bookable)
    link = {"Authorization": f"Bearer {booked[0]['manage_token']}"}
    joined = await booking.post(f"/clinics/{place.clinic_id}/waitlist", json=_join_body(place), headers=link)
    assert joined.status_code == 201, joined.text
    async with engine.connect() as connection:
        same = await connection.scalar(
            text(
                "SELECT w.patient_id = a.patient_id FROM waitlist_entries w, appointments a"
                " WHERE w.id = :entry AND a.id = :visit"
            ),
            {"entry": joined.json()["entry"]["id"], "visit": booked[0]["appointment"]["id"]},
        )
    assert same is True


async def test_the_front_desk_puts_a_caller_on_the_list_without_getting_their_link(
    booking: httpx.AsyncClient, test_env: TestEnvironment, new_bookable: NewBookable
) -> None:
    place, _ = await _full_day(booking, new_bookable)
    desk = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.UUID(place.clinic_id)])
    joined = await booking.post(f"/clinics/{place.clinic_id}/waitlist", json=_join_body(place), headers=desk)
    assert joined.status_code == 201, joined.text
    assert joined.json()["waitlist_token"] is None
