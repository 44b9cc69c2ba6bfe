"""Holds raced for, as on a popular evening: a crowd holding one time gets it once per free resource set
and 409s with alternatives for the rest, never a 500; and the patient booking with their hold token
gets the held time while a crowd books the same time without one. The app runs with a pool large
enough that the requests really meet in PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from clinic_shared.testing.races import race_outcomes

pytestmark = pytest.mark.integration

NewBookable = Callable[..., Awaitable[Any]]
RACERS = 50
ROUNDS = 3


async def test_fifty_callers_holding_one_time_get_it_once_per_free_resource_set(
    crowded: httpx.AsyncClient, new_bookable: NewBookable
) -> None:
    place = await new_bookable(practitioners=2, rooms=2, devices=2)
    body = {"clinic_id": place.clinic_id, "treatment_id": place.treatment_id, "areas": ["face"]}

    for round_number in range(ROUNDS):
        starts_at = place.at(9 + 2 * round_number)  # visits last 75 minutes: the rounds never overlap

        answers = await asyncio.gather(
            *(crowded.post("/holds", json={**body, "starts_at": starts_at}) for _ in range(RACERS)),
            return_exceptions=True,
        )

        # Two practitioners, rooms and devices: two holds fit at once, no more, no fewer.
        assert race_outcomes(answers) == {"201": 2, "409 slot_taken": RACERS - 2}, f"round {round_number}"
        won = [a.json()["hold"] for a in answers if isinstance(a, httpx.Response) and a.status_code == 201]
        assert len({hold["practitioner_id"] for hold in won}) == 2


async def test_the_hold_token_gets_the_held_time_while_a_crowd_books_it_without_one(
    crowded: httpx.AsyncClient, new_bookable: NewBookable
) -> None:
    place = await new_bookable()

    for round_number in range(ROUNDS):
        starts_at = place.at(9 + 2 * round_number)
        held = await crowded.post(
            "/holds",
            json={"clinic_id": place.clinic_id, "treatment_id": place.treatment_id, "areas": ["face"],
                  "starts_at": starts_at},
        )  # fmt: skip
        assert held.status_code == 201, held.text

        mine, *theirs = await asyncio.gather(
            crowded.post("/appointments", json=place.body(starts_at, hold_token=held.json()["hold_token"])),
            *(crowded.post("/appointments", json=place.body(starts_at)) for _ in range(RACERS - 1)),
            return_exceptions=True,
        )

        assert isinstance(mine, httpx.Response), mine
        assert mine.status_code == 201, mine.text
        assert mine.json()["appointment"]["id"] == held.json()["hold"]["id"], f"round {round_number}"
        assert race_outcomes(theirs) == {"409 slot_taken": RACERS - 1}, f"round {round_number}"
