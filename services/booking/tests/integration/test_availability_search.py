"""What an availability search reads: every clinic's visits of a practitioner, and only the practitioner
it names."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from booking.adapters.calendar import load_calendar
from clinic_shared.auth import Role
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

NewBookable = Callable[..., Awaitable[Any]]
WEEK = {
    day: [{"opens": "09:00", "closes": "17:00"}] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
}


async def _starts(booking: httpx.AsyncClient, place: Any, **params: Any) -> dict[str, list[str]]:
    day = str(place.day)
    search = await booking.get(
        f"/clinics/{place.clinic_id}/availability",
        params={"treatment_id": place.treatment_id, "areas": ["face"], "from": day, "to": day, **params},
    )
    assert search.status_code == 200, search.text
    return {slot["local_start"][11:16]: slot["practitioner_ids"] for slot in search.json()["slots"]}


async def test_a_visit_in_another_clinic_keeps_the_practitioner_busy_in_this_one(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    here = await new_bookable()
    elsewhere = await new_bookable(practitioners=0)
    [practitioner] = here.practitioner_ids
    linked = await booking.put(
        f"/practitioners/{practitioner}/clinics/{elsewhere.clinic_id}",
        json=WEEK,
        headers=test_env.auth_header(Role.ADMIN),
    )
    assert linked.status_code in (200, 201), linked.text
    booked = await booking.post("/appointments", json=here.body(here.at(10)))  # procedure 10:30-11:00
    assert booked.status_code == 201, booked.text

    for named in ({}, {"practitioner_id": practitioner}):
        starts = await _starts(booking, elsewhere, **named)
        # The other clinic's own room and device are free all day; only the practitioner is not.
        assert {"09:30", "10:30"} <= set(starts), named
        assert not {"09:45", "10:00", "10:15"} & set(starts), named


async def test_a_search_naming_a_practitioner_offers_what_the_open_search_offers_them(
    booking: httpx.AsyncClient, new_bookable: NewBookable
) -> None:
    place = await new_bookable(practitioners=2, rooms=2, devices=2)
    first, second = place.practitioner_ids
    for hour, minute, practitioner in ((9, 0, first), (10, 15, second), (13, 0, first), (13, 0, second)):
        booked = await booking.post(
            "/appointments", json=place.body(place.at(hour, minute), practitioner_id=practitioner)
        )
        assert booked.status_code == 201, booked.text

    everyone = await _starts(booking, place)
    for practitioner in (first, second):
        named = await _starts(booking, place, practitioner_id=practitioner)
        assert named == {start: [practitioner] for start, ids in everyone.items() if practitioner in ids}
    assert everyone["09:00"] == [second]
    assert "13:00" not in everyone, "both practitioners, rooms and devices are taken then"


async def test_a_calendar_for_days_given_the_wrong_way_round_is_read_without_an_error(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    # Callers validate the days after reading (the waitlist does); the read itself must not fail.
    place = await new_bookable()
    engine = create_async_engine(test_env.database_url("booking"))
    try:
        async with AsyncSession(engine) as session:
            calendar = await load_calendar(
                session,
                clinic_id=uuid.UUID(place.clinic_id),
                treatment_id=uuid.UUID(place.treatment_id),
                first_day=place.day,
                last_day=place.day - timedelta(days=4),
                window_start=datetime.combine(place.day, time(), UTC),
                window_end=datetime.combine(place.day - timedelta(days=3), time(), UTC),
            )
        assert [str(p.practitioner_id) for p in calendar.resources.practitioners] == place.practitioner_ids
    finally:
        await engine.dispose()
