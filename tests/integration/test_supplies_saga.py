"""The appointment saga across booking and inventory, through the real outbox, relay, broker and
consumers of both (every process in-process here): book -> reserved -> confirmed; no stock ->
rejected with the reason; cancel -> released; complete -> consumed, with the lot traced."""

from __future__ import annotations

import httpx
import pytest

from clinic_shared.auth import Role
from clinic_shared.testing.messaging import eventually
from clinic_shared.testing.plugin import TestEnvironment
from tests.journeys import (
    book,
    bookable_clinic_with_supplies,
    ok,
    receive,
    status_becomes,
    stock,
    weekday,
)

pytestmark = pytest.mark.integration


async def test_booked_visits_are_confirmed_with_stock_and_rejected_without(
    platform: dict[str, httpx.AsyncClient], test_env: TestEnvironment
) -> None:
    booking, inventory = platform["booking"], platform["inventory"]
    clinic = await bookable_clinic_with_supplies(booking, inventory, test_env)
    await receive(inventory, clinic, "cartridge", "CT-1", 1)
    await receive(inventory, clinic, "cream", "LC-1", 30)

    first = await book(booking, clinic, 9)
    await status_becomes(booking, first, "confirmed")
    second = await book(booking, clinic, 11)  # the only cartridge is reserved for the first
    await status_becomes(booking, second, "rejected")

    lots = await stock(inventory, clinic)
    assert (lots["CT-1"]["reserved"], lots["LC-1"]["reserved"]) == ("1.000", "3.000")
    free = await booking.get(
        f"/clinics/{clinic['id']}/availability",
        params={
            "treatment_id": clinic["treatment_id"],
            "areas": "face",
            "from": str(weekday(7)),
            "to": str(weekday(7)),
        },
    )
    rejected_start = second["appointment"]["starts_at"].replace("Z", "+00:00")
    assert rejected_start in {s["starts_at"].replace("Z", "+00:00") for s in free.json()["slots"]}, "time freed"


async def test_cancel_releases_and_completion_consumes_the_recorded_lot(
    platform: dict[str, httpx.AsyncClient], test_env: TestEnvironment
) -> None:
    booking, inventory = platform["booking"], platform["inventory"]
    clinic = await bookable_clinic_with_supplies(booking, inventory, test_env)
    await receive(inventory, clinic, "cartridge", "CT-1", 5)
    await receive(inventory, clinic, "cream", "LC-1", 30)
    cancelled, treated = await book(booking, clinic, 9), await book(booking, clinic, 11)
    await status_becomes(booking, cancelled, "confirmed")
    await status_becomes(booking, treated, "confirmed")

    link = {"Authorization": f"Bearer {cancelled['manage_token']}"}
    ok(await booking.post(f"/appointments/{cancelled['appointment']['id']}/cancel", json={}, headers=link))

    async def released() -> bool:
        return (await stock(inventory, clinic))["CT-1"]["reserved"] == "1.000"

    await eventually(released, timeout_s=10, what="the cancelled visit's kit to be released")

    admin = test_env.auth_header(Role.ADMIN)
    visit = treated["appointment"]["id"]
    ok(await booking.post(f"/appointments/{visit}/check-in", headers=admin))
    ok(
        await booking.post(
            f"/appointments/{visit}/complete",
            json={
                "needle_depths_mm": {"face": "1.0"},
                "lots_used": [{"item_id": clinic["cartridge"], "lot_number": "CT-1"}],
            },
            headers=admin,
        )
    )

    async def consumed() -> bool:
        lots = await stock(inventory, clinic)
        return lots["CT-1"]["on_hand"] == "4.000" and lots["CT-1"]["reserved"] == "0.000"

    await eventually(consumed, timeout_s=10, what="the completed visit's kit to be consumed")
    ledger = (
        await inventory.get(
            f"/clinics/{clinic['id']}/ledger", params={"appointment_id": visit, "reason": "consumed"},
            headers=clinic["manager"],
        )
    ).json()["items"]  # fmt: skip
    assert sorted((e["lot_number"], e["on_hand_change"]) for e in ledger) == [("CT-1", "-1.000"), ("LC-1", "-3.000")]
