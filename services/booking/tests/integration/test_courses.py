"""Courses through the API: the next session only inside the clinic's course window (4-6 weeks by
default), moving a session re-checks the next one, and a course's sessions are capped."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from clinic_shared.auth import Role
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

NewBookable = Callable[..., Awaitable[Any]]


def weeks_later(iso: str, weeks: int, *, hours: int = 0) -> str:
    return (datetime.fromisoformat(iso) + timedelta(weeks=weeks, hours=hours)).isoformat()


async def _course(booking: httpx.AsyncClient, place: Any, *, sessions: int = 2) -> dict[str, Any]:
    first = place.at(10)
    booked = await booking.post("/appointments", json=place.body(first, course_sessions=sessions))
    assert booked.status_code == 201, booked.text
    body = booked.json()
    return {**body, "first": first, "link": {"Authorization": f"Bearer {body['manage_token']}"}}


async def test_a_course_offers_and_books_the_next_session_only_inside_its_window(
    booking: httpx.AsyncClient, new_bookable: NewBookable
) -> None:
    place = await new_bookable()
    course = await _course(booking, place)
    course_id = course["appointment"]["course_id"]
    assert course["appointment"]["session_number"] == 1

    overview = (await booking.get(f"/courses/{course_id}", headers=course["link"])).json()
    earliest = datetime.fromisoformat(overview["next_session_earliest"])
    latest = datetime.fromisoformat(overview["next_session_latest"])
    # Local days 4 to 6 weeks after the first session's day, both included.
    assert earliest.astimezone(place.zone) == datetime.combine(place.day + timedelta(weeks=4), time(), place.zone)
    assert latest.astimezone(place.zone) == datetime.combine(place.day + timedelta(weeks=6, days=1), time(), place.zone)
    offered = (await booking.get(f"/courses/{course_id}/availability", headers=course["link"])).json()
    assert offered, "free times inside the window"
    assert all(earliest <= datetime.fromisoformat(slot["starts_at"]) < latest for slot in offered)

    too_soon = await booking.post(
        f"/courses/{course_id}/sessions", json={"starts_at": weeks_later(course["first"], 2)}, headers=course["link"]
    )
    second = await booking.post(
        f"/courses/{course_id}/sessions", json={"starts_at": weeks_later(course["first"], 5)}, headers=course["link"]
    )
    third = await booking.post(
        f"/courses/{course_id}/sessions",
        json={"starts_at": weeks_later(course["first"], 5, hours=2)},
        headers=course["link"],
    )

    assert (too_soon.status_code, too_soon.json()["code"]) == (422, "outside_course_window")
    assert second.status_code == 201, second.text
    assert second.json()["appointment"]["session_number"] == 2
    assert (third.status_code, third.json()["code"]) == (409, "course_fully_booked")


async def test_moving_a_session_keeps_the_next_one_inside_its_window(
    booking: httpx.AsyncClient, new_bookable: NewBookable, confirm: Callable[[dict[str, Any]], Awaitable[None]]
) -> None:
    place = await new_bookable()
    course = await _course(booking, place)
    course_id = course["appointment"]["course_id"]
    await booking.post(
        f"/courses/{course_id}/sessions", json={"starts_at": weeks_later(course["first"], 4)}, headers=course["link"]
    )
    await confirm(course)

    # Session 2 is 4 weeks after session 1; moving session 1 a day later leaves less than 4 weeks.
    moved = await booking.post(
        f"/appointments/{course['appointment']['id']}/reschedule",
        json={"starts_at": weeks_later(course["first"], 0, hours=24)},
        headers=course["link"],
    )
    later_that_day = await booking.post(
        f"/appointments/{course['appointment']['id']}/reschedule",
        json={"starts_at": weeks_later(course["first"], 0, hours=2)},
        headers=course["link"],
    )

    assert (moved.status_code, moved.json()["code"]) == (422, "outside_course_window")
    assert "session 2" in moved.json()["message"]
    # The window counts the clinic's days: the same day two hours later keeps session 2 four weeks on.
    assert later_that_day.status_code == 200, later_that_day.text


async def test_a_course_belongs_to_its_patient(booking: httpx.AsyncClient, new_bookable: NewBookable) -> None:
    place = await new_bookable(practitioners=2, rooms=2, devices=2)
    mine = await _course(booking, place)
    other = (await booking.post("/appointments", json=place.body(place.at(10)))).json()
    theirs = {"Authorization": f"Bearer {other['manage_token']}"}

    assert (await booking.get(f"/courses/{mine['appointment']['course_id']}", headers=theirs)).status_code == 403
    refused = await booking.post("/appointments", json=place.body(place.at(11), course_sessions=1))
    assert refused.status_code == 422


async def test_a_course_whose_sessions_were_all_cancelled_starts_over(
    booking: httpx.AsyncClient, new_bookable: NewBookable
) -> None:
    place = await new_bookable()
    course = await _course(booking, place)
    course_id = course["appointment"]["course_id"]
    cancelled = await booking.post(
        f"/appointments/{course['appointment']['id']}/cancel", json={}, headers=course["link"]
    )
    assert cancelled.status_code == 200, cancelled.text

    overview = (await booking.get(f"/courses/{course_id}", headers=course["link"])).json()
    offered = (await booking.get(f"/courses/{course_id}/availability", headers=course["link"])).json()
    again = await booking.post(
        f"/courses/{course_id}/sessions", json={"starts_at": course["first"]}, headers=course["link"]
    )

    assert datetime.fromisoformat(overview["next_session_earliest"]) <= datetime.now(UTC)
    assert course["first"] in {datetime.fromisoformat(s["local_start"]).isoformat() for s in offered}
    assert again.status_code == 201, again.text
    assert again.json()["appointment"]["session_number"] == 1


async def test_the_front_desk_books_a_next_session_without_being_handed_the_patients_link(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable()
    course = await _course(booking, place)
    desk = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.UUID(place.clinic_id)])
    by_desk = await booking.post(
        f"/courses/{course['appointment']['course_id']}/sessions",
        json={"starts_at": weeks_later(course["first"], 5)},
        headers=desk,
    )
    assert by_desk.status_code == 201, by_desk.text
    assert by_desk.json()["manage_token"] is None
