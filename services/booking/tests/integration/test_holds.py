"""Holds through the API against the real database: a held time is kept from the search and from
other bookings, booked with its token, extended once, released, or left to lapse (the worker's sweep
frees it); a booking with a hold that is over books the time afresh; hold tokens and manage links
open only their own routes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from booking.main import SERVICE
from booking.service import holds
from booking.settings import BookingSettings
from clinic_shared import manage_links
from clinic_shared.auth import Role
from clinic_shared.db import create_session_factory
from clinic_shared.messaging import Broker
from clinic_shared.testing.messaging import eventually
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

NewBookable = Callable[..., Awaitable[Any]]
HOLD_FOR = timedelta(minutes=10)  # BOOKING_HOLD_MINUTES' default, which the tests run with


@pytest.fixture
async def engine(test_env: TestEnvironment, service_databases: dict[str, str]) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(test_env.database_url("booking"))
    yield engine
    await engine.dispose()


@pytest.fixture
def settings(test_env: TestEnvironment) -> BookingSettings:
    settings = test_env.settings(SERVICE)
    assert isinstance(settings, BookingSettings)
    return settings


def hold_body(place: Any, starts_at: str, **overrides: Any) -> dict[str, Any]:
    return {"clinic_id": place.clinic_id, "treatment_id": place.treatment_id, "areas": ["face"],
            "starts_at": starts_at, **overrides}  # fmt: skip


async def hold(booking: httpx.AsyncClient, place: Any, starts_at: str, **headers: str) -> dict[str, Any]:
    answer = await booking.post("/holds", json=hold_body(place, starts_at), headers=headers)
    assert answer.status_code == 201, answer.text
    held: dict[str, Any] = answer.json()
    return held


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def free_starts(booking: httpx.AsyncClient, place: Any) -> set[datetime]:
    search = await booking.get(
        f"/clinics/{place.clinic_id}/availability",
        params={"treatment_id": place.treatment_id, "areas": "face", "from": str(place.day), "to": str(place.day)},
    )
    assert search.status_code == 200, search.text
    return {datetime.fromisoformat(slot["starts_at"]) for slot in search.json()["slots"]}


async def expire(engine: AsyncEngine, held: dict[str, Any]) -> None:
    """The hold's time passes (the sweep has not run yet)."""
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE appointments SET held_until = now() - interval '1 second' WHERE id = :id"),
            {"id": held["hold"]["id"]},
        )


async def stored_status(engine: AsyncEngine, row_id: str) -> str | None:
    async with engine.connect() as connection:
        status = await connection.scalar(text("SELECT status FROM appointments WHERE id = :id"), {"id": row_id})
    return None if status is None else str(status)


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


async def test_a_held_time_is_kept_from_the_search_and_from_bookings_without_its_token(
    booking: httpx.AsyncClient, new_bookable: NewBookable, engine: AsyncEngine
) -> None:
    place = await new_bookable()
    ten = datetime.fromisoformat(place.at(10))
    assert ten in await free_starts(booking, place)
    events, patients = await count(engine, "outbox"), await count(engine, "patients")

    held = await hold(booking, place, place.at(10))

    shown = held["hold"]
    assert (shown["status"], shown["extended"]) == ("held", False)
    assert datetime.fromisoformat(shown["starts_at"]) == ten
    assert datetime.fromisoformat(shown["ends_at"]) == ten + timedelta(minutes=75)
    assert shown["practitioner_id"] in place.practitioner_ids
    assert HOLD_FOR - timedelta(minutes=1) < datetime.fromisoformat(shown["expires_at"]) - datetime.now(UTC) <= HOLD_FOR
    assert ten not in await free_starts(booking, place)
    taken = await booking.post("/appointments", json=place.body(place.at(10)))
    assert (taken.status_code, taken.json()["code"]) == (409, "slot_taken")
    assert taken.json()["details"]["alternatives"]
    # Nothing announced, nobody recorded: inventory and notifications never hear of a hold.
    assert (await count(engine, "outbox"), await count(engine, "patients")) == (events, patients)
    read = await booking.get(f"/holds/{shown['id']}", headers=bearer(held["hold_token"]))
    assert read.status_code == 200, read.text
    assert read.json()["hold"] == shown


async def test_only_a_hold_goes_without_a_patient(
    booking: httpx.AsyncClient, new_bookable: NewBookable, engine: AsyncEngine
) -> None:
    place = await new_bookable()
    held = await hold(booking, place, place.at(10))

    with pytest.raises(IntegrityError, match="ck_appointments_patient_named"):
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE appointments SET status = 'requested' WHERE id = :id"), {"id": held["hold"]["id"]}
            )


async def test_booking_with_the_hold_token_makes_the_held_time_the_visit(
    booking: httpx.AsyncClient, new_bookable: NewBookable, engine: AsyncEngine
) -> None:
    place = await new_bookable()
    held = await hold(booking, place, place.at(10))

    booked = await booking.post("/appointments", json=place.body(place.at(10), hold_token=held["hold_token"]))

    assert booked.status_code == 201, booked.text
    visit = booked.json()["appointment"]
    assert (visit["id"], visit["status"]) == (held["hold"]["id"], "requested")
    assert visit["practitioner_id"] == held["hold"]["practitioner_id"]
    mine = await booking.get(f"/appointments/{visit['id']}", headers=bearer(booked.json()["manage_token"]))
    assert mine.json() == visit
    async with engine.connect() as connection:
        announced = await connection.scalar(
            text(
                "SELECT count(*) FROM outbox WHERE body->>'type' = 'booking.appointment.requested'"
                " AND body->'payload'->>'appointment_id' = :id"
            ),
            {"id": visit["id"]},
        )
    assert announced == 1  # inventory is asked for the supplies, as for any booking
    link = bearer(held["hold_token"])
    assert (await booking.get(f"/holds/{visit['id']}", headers=link)).json()["hold"]["status"] == "booked"
    again = await booking.post("/appointments", json=place.body(place.at(10), hold_token=held["hold_token"]))
    assert (again.status_code, again.json()["code"]) == (409, "hold_already_booked")
    gone = await booking.delete(f"/holds/{visit['id']}", headers=link)
    assert (gone.status_code, gone.json()["code"]) == (409, "hold_already_booked")
    assert await stored_status(engine, visit["id"]) == "requested"


async def test_a_booking_asking_for_something_else_than_its_hold_is_refused_and_the_hold_kept(
    booking: httpx.AsyncClient, new_bookable: NewBookable
) -> None:
    place = await new_bookable()
    held = await hold(booking, place, place.at(10))

    for change, field in (({"starts_at": place.at(13)}, "starts_at"), ({"areas": ["face", "neck"]}, "areas")):
        body = {**place.body(place.at(10), hold_token=held["hold_token"]), **change}
        refused = await booking.post("/appointments", json=body)
        assert (refused.status_code, refused.json()["code"], refused.json()["field"]) == (422, "hold_mismatch", field)
    bad = await booking.post("/appointments", json=place.body(place.at(10), hold_token="not-a-token"))
    assert (bad.status_code, bad.json()["field"]) == (401, "hold_token")
    read = await booking.get(f"/holds/{held['hold']['id']}", headers=bearer(held["hold_token"]))
    assert read.json()["hold"]["status"] == "held"


async def test_a_hold_is_extended_once_only(booking: httpx.AsyncClient, new_bookable: NewBookable) -> None:
    place = await new_bookable()
    held = await hold(booking, place, place.at(10))
    path, link = f"/holds/{held['hold']['id']}", bearer(held["hold_token"])

    extended = await booking.post(f"{path}/extend", headers=link)
    again = await booking.post(f"{path}/extend", headers=link)

    assert extended.status_code == 200, extended.text
    first_expiry = datetime.fromisoformat(held["hold"]["expires_at"])
    assert datetime.fromisoformat(extended.json()["hold"]["expires_at"]) == first_expiry + HOLD_FOR
    assert extended.json()["hold"]["extended"] is True
    assert (again.status_code, again.json()["code"]) == (409, "hold_already_extended")
    read = await booking.get(path, headers=link)
    assert read.json()["hold"]["expires_at"] == extended.json()["hold"]["expires_at"]


async def test_a_released_hold_frees_the_time_and_cannot_be_extended(
    booking: httpx.AsyncClient, new_bookable: NewBookable
) -> None:
    place = await new_bookable()
    held = await hold(booking, place, place.at(10))
    path, link = f"/holds/{held['hold']['id']}", bearer(held["hold_token"])

    released = await booking.delete(path, headers=link)

    assert released.status_code == 204, released.text
    assert datetime.fromisoformat(place.at(10)) in await free_starts(booking, place)
    assert (await booking.delete(path, headers=link)).status_code == 204  # releasing again changes nothing
    assert (await booking.get(path, headers=link)).json()["hold"]["status"] == "released"
    late = await booking.post(f"{path}/extend", headers=link)
    assert (late.status_code, late.json()["code"]) == (409, "hold_not_held")
    # A booking with the released hold's token books the time afresh.
    booked = await booking.post("/appointments", json=place.body(place.at(10), hold_token=held["hold_token"]))
    assert booked.status_code == 201, booked.text
    assert booked.json()["appointment"]["id"] != held["hold"]["id"]


async def test_a_lapsed_hold_is_swept_and_its_time_offered_again(
    booking: httpx.AsyncClient,
    new_bookable: NewBookable,
    engine: AsyncEngine,
    settings: BookingSettings,
) -> None:
    place = await new_bookable()
    lapsing, kept = await hold(booking, place, place.at(10)), await hold(booking, place, place.at(13))
    await expire(engine, lapsing)
    ten, one = datetime.fromisoformat(place.at(10)), datetime.fromisoformat(place.at(13))
    assert ten not in await free_starts(booking, place)  # held until the sweep says otherwise

    await holds.lapse_holds(create_session_factory(engine), settings)

    free = await free_starts(booking, place)
    assert ten in free
    assert one not in free
    assert await stored_status(engine, lapsing["hold"]["id"]) == "hold_lapsed"
    assert await stored_status(engine, kept["hold"]["id"]) == "held"
    link = bearer(lapsing["hold_token"])
    assert (await booking.get(f"/holds/{lapsing['hold']['id']}", headers=link)).json()["hold"]["status"] == "lapsed"
    late = await booking.post(f"/holds/{lapsing['hold']['id']}/extend", headers=link)
    assert (late.status_code, late.json()["code"]) == (409, "hold_not_held")


async def test_booking_with_a_lapsed_hold_books_the_time_afresh(
    booking: httpx.AsyncClient, new_bookable: NewBookable, engine: AsyncEngine
) -> None:
    place = await new_bookable()
    held = await hold(booking, place, place.at(10))
    await expire(engine, held)  # not swept yet: the booking lets it lapse itself

    booked = await booking.post("/appointments", json=place.body(place.at(10), hold_token=held["hold_token"]))

    assert booked.status_code == 201, booked.text
    visit = booked.json()["appointment"]
    assert visit["id"] != held["hold"]["id"]
    assert datetime.fromisoformat(visit["starts_at"]) == datetime.fromisoformat(place.at(10))
    assert await stored_status(engine, held["hold"]["id"]) == "hold_lapsed"


async def test_booking_with_a_lapsed_hold_whose_time_went_to_someone_else_gets_alternatives(
    booking: httpx.AsyncClient, new_bookable: NewBookable, engine: AsyncEngine, settings: BookingSettings
) -> None:
    place = await new_bookable()
    held = await hold(booking, place, place.at(10))
    await expire(engine, held)
    await holds.lapse_holds(create_session_factory(engine), settings)
    faster = await booking.post("/appointments", json=place.body(place.at(10)))
    assert faster.status_code == 201, faster.text

    late = await booking.post("/appointments", json=place.body(place.at(10), hold_token=held["hold_token"]))

    assert (late.status_code, late.json()["code"]) == (409, "slot_taken")
    assert late.json()["details"]["alternatives"]


async def test_a_hold_token_past_its_expiry_books_as_without_it(
    booking: httpx.AsyncClient, new_bookable: NewBookable, settings: BookingSettings
) -> None:
    place = await new_bookable()
    token = manage_links.issue_hold(
        settings.manage_link_secret.get_secret_value(),
        hold_id=uuid.uuid4(),
        lasts_at_most_until=datetime.now(UTC) - timedelta(hours=1),
    )

    booked = await booking.post("/appointments", json=place.body(place.at(10), hold_token=token))

    assert booked.status_code == 201, booked.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: {"starts_at": "2020-01-06T10:00:00+01:00"}, "starts_at"),
        (lambda p: {"starts_at": p.at(10, 7)}, "starts_at"),
        (lambda p: {"starts_at": p.at(7)}, "starts_at"),
        (lambda p: {"starts_at": p.at(16, 30)}, "starts_at"),
        (lambda p: {"starts_at": "2026-12-01T10:00:00"}, "body.starts_at"),
        (lambda p: {"areas": ["hands"]}, "areas"),
    ],
)
async def test_a_start_or_areas_a_booking_refuses_are_refused_for_a_hold_the_same_way(
    booking: httpx.AsyncClient,
    new_bookable: NewBookable,
    engine: AsyncEngine,
    change: Callable[[Any], dict[str, Any]],
    field: str,
) -> None:
    place = await new_bookable()
    before = await count(engine, "appointments")

    held = await booking.post("/holds", json={**hold_body(place, place.at(10)), **change(place)})
    booked = await booking.post("/appointments", json={**place.body(place.at(10)), **change(place)})

    assert (held.status_code, held.json()["field"]) == (422, field), held.text
    assert (held.json()["code"], held.json()["message"]) == (booked.json()["code"], booked.json()["message"])
    assert booked.status_code == 422
    assert await count(engine, "appointments") == before


async def test_hold_tokens_and_manage_links_open_only_their_own_routes(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable(practitioners=2, rooms=2, devices=2)
    held, other = await hold(booking, place, place.at(10)), await hold(booking, place, place.at(13))
    visit = (await booking.post("/appointments", json=place.body(place.at(10)))).json()
    hold_path, visit_path = f"/holds/{held['hold']['id']}", f"/appointments/{visit['appointment']['id']}"
    hold_token, manage_link = bearer(held["hold_token"]), bearer(visit["manage_token"])
    admin = test_env.auth_header(Role.ADMIN)

    for method, path, headers in (
        ("GET", visit_path, hold_token),
        ("POST", f"{visit_path}/cancel", hold_token),
        ("POST", f"{visit_path}/reschedule", hold_token),
        ("GET", hold_path, manage_link),
        ("POST", f"{hold_path}/extend", manage_link),
        ("DELETE", hold_path, manage_link),
        ("GET", hold_path, admin),
        ("GET", hold_path, {}),
    ):
        answer = await booking.request(method, path, json={}, headers=headers)
        assert answer.status_code == 401, (method, path, answer.text)
    as_bearer = await booking.post("/appointments", json=place.body(place.at(13)), headers=hold_token)
    assert as_bearer.status_code == 401
    crossed = await booking.get(f"/holds/{other['hold']['id']}", headers=hold_token)
    assert (crossed.status_code, crossed.json()["field"]) == (403, "hold_id")
    # A hold is no appointment: the appointment routes do not know it, whoever asks.
    assert (await booking.get(f"/appointments/{held['hold']['id']}", headers=admin)).status_code == 404
    assert (await booking.get(hold_path, headers=hold_token)).json()["hold"]["status"] == "held"


async def test_the_front_desk_holds_at_its_own_clinic_only(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place, elsewhere = await new_bookable(), await new_bookable()
    theirs = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.UUID(elsewhere.clinic_id)])
    ours = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.UUID(place.clinic_id)])

    refused = await booking.post("/holds", json=hold_body(place, place.at(10)), headers=theirs)
    held = await booking.post("/holds", json=hold_body(place, place.at(10)), headers=ours)

    assert (refused.status_code, refused.json()["field"]) == (403, "clinic_id")
    assert held.status_code == 201, held.text
    assert held.json()["hold_token"]


async def test_staff_see_a_hold_on_the_schedule_and_in_the_list_only_when_they_ask(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    visit = (await booking.post("/appointments", json=place.body(place.at(9)))).json()["appointment"]
    held = await hold(booking, place, place.at(13))
    gone = await hold(booking, place, place.at(15))
    assert (await booking.delete(f"/holds/{gone['hold']['id']}", headers=bearer(gone["hold_token"]))).status_code == 204
    desk = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.UUID(place.clinic_id)])
    here, period = f"/clinics/{place.clinic_id}", {"from": str(place.day), "to": str(place.day)}

    day = await booking.get(f"{here}/schedule", params={"day": str(place.day)}, headers=desk)
    listed = await booking.get(f"{here}/appointments", params=period, headers=desk)
    holds_listed = await booking.get(
        f"{here}/appointments", params={**period, "status": ["held", "hold_released"]}, headers=desk
    )

    assert day.status_code == 200, day.text
    assert [(v["id"], v["status"]) for v in day.json()["items"]] == [
        (visit["id"], "requested"),
        (held["hold"]["id"], "held"),
    ]
    assert [v["id"] for v in listed.json()["items"]] == [visit["id"]]
    assert [(v["id"], v["status"]) for v in holds_listed.json()["items"]] == [
        (held["hold"]["id"], "held"),
        (gone["hold"]["id"], "hold_released"),
    ]


async def test_the_worker_lets_lapsed_holds_go_on_its_own(
    booking: httpx.AsyncClient, new_bookable: NewBookable, engine: AsyncEngine, inventory: Broker
) -> None:
    """The sweep is wired into the worker (the `inventory` fixture runs booking's worker)."""
    del inventory
    place = await new_bookable()
    held = await hold(booking, place, place.at(10))
    await expire(engine, held)

    async def free_again() -> bool:
        return datetime.fromisoformat(place.at(10)) in await free_starts(booking, place)

    await eventually(free_again, timeout_s=15, what="the worker to let the lapsed hold go")
    assert await stored_status(engine, held["hold"]["id"]) == "hold_lapsed"
