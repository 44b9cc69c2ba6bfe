"""Many callers racing for one time, as on a popular evening: every winner gets the time, every loser a
409 naming the time as taken with alternatives to pick from, and nobody a 500. The app runs with a pool
large enough that the requests really meet in PostgreSQL, and each race is run several times."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from booking.adapters.tables import appointments
from clinic_shared.auth import Role
from clinic_shared.testing.plugin import TestEnvironment
from clinic_shared.testing.races import race_outcomes

pytestmark = pytest.mark.integration

NewBookable = Callable[..., Awaitable[Any]]
ReserveSupplies = Callable[[dict[str, Any]], Awaitable[None]]
RACERS = 120
ROUNDS = 3


def _patient(number: int) -> dict[str, Any]:
    return {
        "display_name": f"Racer {number}",
        "email": f"racer{number}@example.org",
        "preferred_channel": "email",
        "care_messages_consent": True,
    }


async def test_a_crowd_booking_one_time_gets_it_once_per_free_set_and_409s_with_alternatives(
    crowded: httpx.AsyncClient, new_bookable: NewBookable, reserve_supplies: ReserveSupplies
) -> None:
    place = await new_bookable(practitioners=2, rooms=2, devices=2)

    async def book(starts_at: str, number: int) -> httpx.Response:
        answer = await crowded.post("/appointments", json=place.body(starts_at, patient=_patient(number)))
        if answer.status_code == 201:
            # Inventory answers at once, as in the running system: the winner is confirmed (an update
            # that checks the exclusion constraints again) while the losers are still at it.
            await reserve_supplies(answer.json()["appointment"])
        return answer

    for round_number in range(ROUNDS):
        starts_at = place.at(9 + 2 * round_number)  # visits last 75 minutes: the rounds never overlap

        answers = await asyncio.gather(*(book(starts_at, n) for n in range(RACERS)), return_exceptions=True)

        # Two practitioners, rooms and devices: two visits fit at once, no more, no fewer.
        assert race_outcomes(answers) == {"201": 2, "409 slot_taken": RACERS - 2}, f"round {round_number}"


async def test_a_crowd_moving_visits_onto_one_time_gets_it_once_per_free_set_and_409s_with_alternatives(
    crowded: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable(practitioners=5, rooms=5, devices=5)
    visits = await _confirmed_visits(crowded, test_env, place, days=_weekdays(place.day, 4), per_start=5)
    assert len(visits) >= RACERS
    front_desk = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.UUID(place.clinic_id)])
    target_day = _weekdays(place.day, 5)[-1]
    waiting = visits

    for round_number in range(ROUNDS):
        hour = 9 + 2 * round_number
        starts_at = datetime(target_day.year, target_day.month, target_day.day, hour, tzinfo=place.zone).isoformat()

        answers = await asyncio.gather(
            *(
                crowded.post(f"/appointments/{visit}/reschedule", json={"starts_at": starts_at}, headers=front_desk)
                for visit in waiting
            ),
            return_exceptions=True,
        )

        assert race_outcomes(answers) == {"200": 5, "409 slot_taken": len(waiting) - 5}, f"round {round_number}"
        moved = {a.json()["id"] for a in answers if isinstance(a, httpx.Response) and a.status_code == 200}
        waiting = [visit for visit in waiting if visit not in moved]


def _weekdays(first: date, count: int) -> list[date]:
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


async def _confirmed_visits(
    client: httpx.AsyncClient, test_env: TestEnvironment, place: Any, *, days: list[date], per_start: int
) -> list[str]:
    """Visits filling the clinic's rooms back to back on these days, confirmed (as inventory's answer
    would; set directly, the saga has tests of its own)."""
    ids = []
    for day in days:
        start = datetime(day.year, day.month, day.day, 9, tzinfo=place.zone)
        while start.hour < 16:
            for _ in range(per_start):
                booked = await client.post("/appointments", json=place.body(start.isoformat()))
                assert booked.status_code == 201, booked.text
                ids.append(booked.json()["appointment"]["id"])
            start += timedelta(minutes=75)
    engine = create_async_engine(test_env.database_url("booking"))
    try:
        async with engine.begin() as connection:
            await connection.execute(update(appointments).where(appointments.c.id.in_(ids)).values(status="confirmed"))
    finally:
        await engine.dispose()
    return ids
