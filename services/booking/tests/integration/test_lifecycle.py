"""A visit after booking, through the API: reschedule, cancel, check in, complete, no-show."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from clinic_shared.auth import Role
from clinic_shared.events import Envelope
from clinic_shared.events.catalogue import LotAllocation, SuppliesReserved
from clinic_shared.messaging import Broker
from clinic_shared.testing.messaging import eventually
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

NewBookable = Callable[..., Awaitable[Any]]


async def _confirmed(
    booking: httpx.AsyncClient, inventory: Broker, place: Any, starts_at: str, **body: Any
) -> dict[str, Any]:
    """A visit booked and confirmed through the saga, as inventory would confirm it."""
    booked = (await booking.post("/appointments", json=place.body(starts_at, areas=("face", "neck"), **body))).json()
    reserved = Envelope.wrap(
        SuppliesReserved(
            appointment_id=booked["appointment"]["id"],
            clinic_id=place.clinic_id,
            allocations=[
                LotAllocation(
                    item_id=uuid.uuid4(), lot_number="L-9", expires_on=date(2027, 1, 1), quantity=1, unit="each"
                )
            ],
        ),
        producer="inventory",
    )
    await inventory.publish_event(reserved.to_json_dict(), routing_key=reserved.routing_key)
    link = {"Authorization": f"Bearer {booked['manage_token']}"}

    async def confirmed() -> bool:
        status = (await booking.get(f"/appointments/{booked['appointment']['id']}", headers=link)).json()["status"]
        return bool(status == "confirmed")

    await eventually(confirmed, what="the visit to be confirmed")
    return {**booked, "link": link, "id": booked["appointment"]["id"]}


async def test_a_patient_moves_their_visit_and_the_old_time_is_free_again(
    booking: httpx.AsyncClient, new_bookable: NewBookable, inventory: Broker
) -> None:
    place = await new_bookable()
    visit = await _confirmed(booking, inventory, place, place.at(10))

    moved = await booking.post(
        f"/appointments/{visit['id']}/reschedule", json={"starts_at": place.at(13)}, headers=visit["link"]
    )

    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "confirmed"
    assert moved.json()["starts_at"] != visit["appointment"]["starts_at"]
    fresh = {"Authorization": f"Bearer {moved.json()['manage_token']}"}
    read = await booking.get(f"/appointments/{visit['id']}", headers=fresh)
    assert read.json()["starts_at"] == moved.json()["starts_at"], "the fresh link works for the moved visit"
    other = await booking.post("/appointments", json=place.body(place.at(10), areas=("face", "neck")))
    assert other.status_code == 201, "the old time was freed"


async def test_a_small_move_overlapping_the_old_time_is_allowed(
    booking: httpx.AsyncClient, new_bookable: NewBookable, inventory: Broker
) -> None:
    place = await new_bookable()
    visit = await _confirmed(booking, inventory, place, place.at(10))
    moved = await booking.post(
        f"/appointments/{visit['id']}/reschedule", json={"starts_at": place.at(10, 15)}, headers=visit["link"]
    )
    assert moved.status_code == 200, moved.text


async def test_rescheduling_onto_a_taken_time_is_refused_and_keeps_the_old_time(
    booking: httpx.AsyncClient, new_bookable: NewBookable, inventory: Broker
) -> None:
    place = await new_bookable()
    visit = await _confirmed(booking, inventory, place, place.at(10))
    await booking.post("/appointments", json=place.body(place.at(14), areas=("face", "neck")))

    refused = await booking.post(
        f"/appointments/{visit['id']}/reschedule", json={"starts_at": place.at(14)}, headers=visit["link"]
    )

    assert refused.status_code == 409
    assert refused.json()["code"] == "slot_taken"
    still = (await booking.get(f"/appointments/{visit['id']}", headers=visit["link"])).json()
    assert still["starts_at"] == visit["appointment"]["starts_at"]


async def test_reschedules_and_bookings_racing_for_one_time_leave_exactly_one_hold(
    booking: httpx.AsyncClient, new_bookable: NewBookable, inventory: Broker, test_env: TestEnvironment
) -> None:
    place = await new_bookable()  # one practitioner, room and device: 14:00 holds one visit
    visits = [await _confirmed(booking, inventory, place, place.at(hour)) for hour in (9, 11)]
    target = place.at(14)

    moves = [
        booking.post(f"/appointments/{v['id']}/reschedule", json={"starts_at": target}, headers=v["link"])
        for v in visits
        for _ in range(5)
    ]
    bookings = [booking.post("/appointments", json=place.body(target, areas=("face", "neck"))) for _ in range(10)]
    answers = await asyncio.gather(*moves, *bookings)

    won = [a for a in answers if a.status_code in (200, 201)]
    assert all(a.status_code in (200, 201, 409) for a in answers), [a.text for a in answers]
    # The same visit may be moved to 14:00 more than once (it is already there); nothing else may be.
    assert len({a.json().get("id") or a.json()["appointment"]["id"] for a in won}) == 1, [a.text for a in won]
    engine = create_async_engine(test_env.database_url("booking"))
    try:
        async with engine.connect() as connection:
            holds = (
                await connection.execute(
                    text(
                        "SELECT a.id, b.id FROM appointments a JOIN appointments b ON a.id < b.id"
                        " AND a.clinic_id = b.clinic_id AND a.clinic_id = :clinic"
                        " AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)"
                        " WHERE a.status IN ('requested', 'confirmed') AND b.status IN ('requested', 'confirmed')"
                    ),
                    {"clinic": place.clinic_id},
                )
            ).all()
            at_target = await connection.scalar(
                text(
                    "SELECT count(*) FROM appointments WHERE clinic_id = :clinic AND starts_at = :at"
                    " AND status IN ('requested', 'confirmed')"
                ),
                {"clinic": place.clinic_id, "at": datetime.fromisoformat(target)},
            )
    finally:
        await engine.dispose()
    assert holds == [], "no two visits hold the one room at once"
    assert at_target == 1
    for visit in visits:  # the loser kept its old time; the winner freed its own
        now_at = (await booking.get(f"/appointments/{visit['id']}", headers=visit["link"])).json()["starts_at"]
        assert now_at in (
            visit["appointment"]["starts_at"],
            datetime.fromisoformat(target).astimezone(UTC).isoformat().replace("+00:00", "Z"),
        )


async def test_a_patient_cancels_then_cannot_complete_or_cancel_again(
    booking: httpx.AsyncClient, new_bookable: NewBookable, inventory: Broker, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    visit = await _confirmed(booking, inventory, place, place.at(10))

    cancelled = await booking.post(f"/appointments/{visit['id']}/cancel", json={}, headers=visit["link"])

    assert cancelled.json()["status"] == "cancelled"
    practitioner = test_env.auth_header(Role.PRACTITIONER, clinics=[uuid.UUID(place.clinic_id)])
    complete = await booking.post(
        f"/appointments/{visit['id']}/complete",
        json={
            "needle_depths_mm": {"face": 1.0, "neck": 0.5},
            "lots_used": [{"item_id": str(uuid.uuid4()), "lot_number": "L"}],
        },
        headers=practitioner,
    )
    assert (complete.status_code, complete.json()["code"]) == (409, "illegal_transition")
    again = await booking.post(f"/appointments/{visit['id']}/cancel", json={}, headers=visit["link"])
    assert again.status_code == 409


async def test_check_in_then_complete_records_depths_and_lots_and_refuses_a_depth_out_of_range(
    booking: httpx.AsyncClient, new_bookable: NewBookable, inventory: Broker, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    visit = await _confirmed(booking, inventory, place, place.at(10))
    clinic = [uuid.UUID(place.clinic_id)]
    desk = test_env.auth_header(Role.FRONT_DESK, clinics=clinic)
    practitioner = test_env.auth_header(Role.PRACTITIONER, clinics=clinic)
    lot = {"item_id": str(uuid.uuid4()), "lot_number": "CART-2027-01"}

    assert (await booking.post(f"/appointments/{visit['id']}/check-in", headers=desk)).json()["status"] == "checked_in"
    too_deep = await booking.post(
        f"/appointments/{visit['id']}/complete",
        json={"needle_depths_mm": {"face": 2.5, "neck": 0.5}, "lots_used": [lot]},
        headers=practitioner,
    )
    assert (too_deep.status_code, too_deep.json()["field"]) == (422, "needle_depths_mm.face")
    missing_area = await booking.post(
        f"/appointments/{visit['id']}/complete", json={"needle_depths_mm": {"face": 1.0}, "lots_used": [lot]},
        headers=practitioner,
    )  # fmt: skip
    assert missing_area.json()["code"] == "completion_incomplete"
    by_desk = await booking.post(
        f"/appointments/{visit['id']}/complete",
        json={"needle_depths_mm": {"face": 1.0, "neck": 0.5}, "lots_used": [lot]},
        headers=desk,
    )
    assert by_desk.status_code == 403, "only practitioners (and managers) record a treatment"

    done = await booking.post(
        f"/appointments/{visit['id']}/complete",
        json={"needle_depths_mm": {"face": 1.0, "neck": 0.5}, "lots_used": [lot]},
        headers=practitioner,
    )

    assert done.json()["status"] == "completed"
    event = await _event(test_env, "booking.appointment.completed", visit["id"])
    assert event["payload"]["lots_used"] == [lot]
    assert "depth" not in str(event), "needle depths stay in booking's database"


async def test_a_patient_cannot_cancel_online_after_the_cutoff_but_the_front_desk_can(
    booking: httpx.AsyncClient, new_bookable: NewBookable, inventory: Broker, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    visit = await _confirmed(booking, inventory, place, place.at(10))
    await _shift_into(test_env, visit["id"], hours_from_now=3)  # the clinic's cut-off is 24 hours

    late = await booking.post(f"/appointments/{visit['id']}/cancel", json={}, headers=visit["link"])
    desk = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.UUID(place.clinic_id)])
    by_desk = await booking.post(f"/appointments/{visit['id']}/cancel", json={"reason_code": "illness"}, headers=desk)

    assert (late.status_code, late.json()["code"]) == (409, "too_late_to_change")
    assert by_desk.json()["status"] == "cancelled"
    event = await _event(test_env, "booking.appointment.cancelled", visit["id"])
    assert (event["payload"]["cancelled_by"], event["payload"]["reason_code"]) == ("staff", "illness")


async def test_a_no_show_only_once_the_visit_has_started(
    booking: httpx.AsyncClient, new_bookable: NewBookable, inventory: Broker, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    visit = await _confirmed(booking, inventory, place, place.at(10))
    desk = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.UUID(place.clinic_id)])

    early = await booking.post(f"/appointments/{visit['id']}/no-show", headers=desk)
    await _shift_into(test_env, visit["id"], hours_from_now=-1)
    missed = await booking.post(f"/appointments/{visit['id']}/no-show", headers=desk)

    assert early.status_code == 409
    assert missed.json()["status"] == "no_show"
    assert (await booking.post(f"/appointments/{visit['id']}/no-show")).status_code == 401


async def _shift_into(env: TestEnvironment, appointment_id: str, *, hours_from_now: int) -> None:
    """Move a visit in time in the database: the test's stand-in for a clock that moves on."""
    engine = create_async_engine(env.database_url("booking"))
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE appointments SET"
                    " ends_at = now() + make_interval(hours => :h) + (ends_at - starts_at),"
                    " procedure_ends_at = now() + make_interval(hours => :h) + (procedure_ends_at - starts_at),"
                    " procedure_starts_at = now() + make_interval(hours => :h) + (procedure_starts_at - starts_at),"
                    " starts_at = now() + make_interval(hours => :h) WHERE id = :id"
                ),
                {"h": hours_from_now, "id": appointment_id},
            )
    finally:
        await engine.dispose()


async def _event(env: TestEnvironment, event_type: str, appointment_id: str) -> dict[str, Any]:
    engine = create_async_engine(env.database_url("booking"))
    try:
        async with engine.connect() as connection:
            body = await connection.scalar(
                text(
                    "SELECT body FROM outbox WHERE body->>'type' = :type"
                    " AND body->'payload'->>'appointment_id' = :id ORDER BY id DESC LIMIT 1"
                ),
                {"type": event_type, "id": appointment_id},
            )
    finally:
        await engine.dispose()
    assert body is not None, f"no {event_type} event"
    result: dict[str, Any] = body
    return result


async def test_completing_a_course_session_announces_the_next_sessions_window_until_it_is_booked(
    booking: httpx.AsyncClient, new_bookable: NewBookable, inventory: Broker, test_env: TestEnvironment
) -> None:
    place = await new_bookable(practitioners=2, rooms=2, devices=2)
    practitioner = test_env.auth_header(Role.PRACTITIONER, clinics=[uuid.UUID(place.clinic_id)])
    completion = {
        "needle_depths_mm": {"face": 1.0, "neck": 0.5},
        "lots_used": [{"item_id": str(uuid.uuid4()), "lot_number": "L"}],
    }

    async def completed_first_session(starts_at: str, *, book_second: bool, hours_ago: int) -> dict[str, Any]:
        visit = await _confirmed(booking, inventory, place, starts_at, course_sessions=3)
        if book_second:
            second = (datetime.fromisoformat(starts_at) + timedelta(weeks=5)).isoformat()
            sessions = f"/courses/{visit['appointment']['course_id']}/sessions"
            booked = await booking.post(sessions, json={"starts_at": second}, headers=visit["link"])
            assert booked.status_code == 201, booked.text
        await _shift_into(test_env, visit["id"], hours_from_now=-hours_ago)  # the two visits must not overlap
        checked_in = await booking.post(f"/appointments/{visit['id']}/check-in", headers=practitioner)
        assert checked_in.status_code == 200, checked_in.text
        done = await booking.post(f"/appointments/{visit['id']}/complete", json=completion, headers=practitioner)
        assert done.status_code == 200, done.text
        return await _event(test_env, "booking.appointment.completed", visit["id"])

    open_course = await completed_first_session(place.at(10), book_second=False, hours_ago=2)
    booked_ahead = await completed_first_session(place.at(13), book_second=True, hours_ago=5)

    treated_on = (datetime.now(UTC) - timedelta(hours=2)).astimezone(place.zone).date()
    assert open_course["payload"]["session_number"] == 1
    assert open_course["payload"]["next_session"] == {
        "session_number": 2,
        "first_day": (treated_on + timedelta(weeks=4)).isoformat(),
        "last_day": (treated_on + timedelta(weeks=6)).isoformat(),
    }
    assert booked_ahead["payload"]["next_session"] is None, "nothing to suggest when session 2 is booked"
