"""The appointment saga across booking and inventory, through the real outbox, relay, broker and
consumers of both (every process in-process here): book -> reserved -> confirmed; no stock ->
rejected with the reason; cancel -> released; complete -> consumed, with the lot traced."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from clinic_shared.auth import Role
from clinic_shared.testing.messaging import eventually
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

ZONE = ZoneInfo("Europe/Amsterdam")
WEEK = {
    day: [{"opens": "09:00", "closes": "17:00"}] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
}


def _weekday(days_ahead: int) -> date:
    day = datetime.now(UTC).date() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


async def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def _bookable_clinic(platform: dict[str, httpx.AsyncClient], env: TestEnvironment) -> dict[str, Any]:
    """A clinic in booking (one practitioner, room and device, a face treatment), known to inventory,
    with a face kit of one cartridge and 3 g of cream."""
    booking, inventory = platform["booking"], platform["inventory"]
    admin = env.auth_header(Role.ADMIN)
    clinic = await _ok(
        await booking.post(
            "/clinics",
            json={
                "name": f"Saga Clinic {uuid.uuid4().hex[:6]}",
                "address": {"line1": "Herengracht 1", "city": "Amsterdam", "postal_code": "1015 BS", "country": "NL"},
                "timezone": "Europe/Amsterdam",
                "phone": "+31 20 555 0100",
                "opening_hours": WEEK,
                "booking_policy": {"slot_grid_minutes": 15, "min_notice_minutes": 60, "horizon_days": 60},
            },
            headers=admin,
        )
    )
    clinic_id = clinic["id"]
    await _ok(await booking.post(f"/clinics/{clinic_id}/rooms", json={"name": "Room 1"}, headers=admin))
    await _ok(
        await booking.post(f"/clinics/{clinic_id}/devices", json={"name": "Pen", "model": "Pen 4"}, headers=admin)
    )
    treatment = await _ok(
        await booking.post(
            f"/clinics/{clinic_id}/treatments",
            json={"name": "Microneedling", "numbing_minutes": 30, "procedure_minutes": {"face": 30},
                  "turnover_minutes": 15},
            headers=admin,
        )
    )  # fmt: skip
    practitioner = await _ok(
        await booking.post("/practitioners", json={"name": "Dr Saga", "profession": "dermatologist"}, headers=admin)
    )
    today = datetime.now(UTC).date()
    await _ok(
        await booking.post(
            f"/practitioners/{practitioner['id']}/credentials",
            json={"number": "MN-1", "issuer": "Board", "valid_from": str(today - timedelta(days=30)),
                  "valid_to": str(today + timedelta(days=365))},
            headers=admin,
        )
    )  # fmt: skip
    await _ok(await booking.put(f"/practitioners/{practitioner['id']}/clinics/{clinic_id}", json=WEEK, headers=admin))

    async def known() -> bool:
        return (await inventory.get(f"/clinics/{clinic_id}", headers=admin)).status_code == 200

    await eventually(known, timeout_s=10, what="inventory to learn of the clinic")
    cartridge = await _ok(
        await inventory.post(
            "/items",
            json={"name": "Cartridge 36-pin", "kind": "cartridge", "unit": "each", "needle_configuration": "36-pin",
                  "fits_device_models": ["Pen 4"]},
            headers=admin,
        )
    )  # fmt: skip
    cream = await _ok(
        await inventory.post(
            "/items",
            json={"name": "Lidocaine 5%", "kind": "numbing_cream", "unit": "gram", "active_ingredient": "lidocaine",
                  "concentration_percent": "5"},
            headers=admin,
        )
    )  # fmt: skip
    manager = env.auth_header(Role.CLINIC_MANAGER, clinics=[uuid.UUID(clinic_id)])
    await _ok(
        await inventory.put(
            f"/clinics/{clinic_id}/kits/face",
            json=[{"item_id": cartridge["id"], "quantity": "1"}, {"item_id": cream["id"], "quantity": "3"}],
            headers=manager,
        )
    )
    return {
        "id": clinic_id,
        "treatment_id": treatment["id"],
        "cartridge": cartridge["id"],
        "cream": cream["id"],
        "manager": manager,
    }


async def _receive(inventory: httpx.AsyncClient, clinic: dict[str, Any], item: str, lot: str, quantity: int) -> None:
    await _ok(
        await inventory.post(
            f"/clinics/{clinic['id']}/deliveries",
            json={"item_id": clinic[item], "lot_number": lot, "expires_on": str(date.today() + timedelta(days=400)),
                  "quantity": str(quantity)},
            headers=clinic["manager"],
        )
    )  # fmt: skip


async def _book(booking: httpx.AsyncClient, clinic: dict[str, Any], hour: int) -> dict[str, Any]:
    day = _weekday(7)
    starts_at = datetime(day.year, day.month, day.day, hour, tzinfo=ZONE).isoformat()
    return await _ok(
        await booking.post(
            "/appointments",
            json={
                "clinic_id": clinic["id"],
                "treatment_id": clinic["treatment_id"],
                "areas": ["face"],
                "starts_at": starts_at,
                "patient": {"display_name": "Sam Saga", "email": "sam@example.org", "care_messages_consent": True},
                "consent": {"accepted": True, "text_version": "2026-11"},
            },
        )
    )


async def _status_becomes(booking: httpx.AsyncClient, booked: dict[str, Any], status: str) -> None:
    link = {"Authorization": f"Bearer {booked['manage_token']}"}

    async def reached() -> bool:
        read = await booking.get(f"/appointments/{booked['appointment']['id']}", headers=link)
        return bool(read.json()["status"] == status)

    await eventually(reached, timeout_s=10, what=f"the visit to become {status}")


async def _stock(inventory: httpx.AsyncClient, clinic: dict[str, Any]) -> dict[str, dict[str, Any]]:
    lots = (await inventory.get(f"/clinics/{clinic['id']}/stock", headers=clinic["manager"])).json()["items"]
    return {lot["lot_number"]: lot for lot in lots}


async def test_booked_visits_are_confirmed_with_stock_and_rejected_without(
    platform: dict[str, httpx.AsyncClient], test_env: TestEnvironment
) -> None:
    booking, inventory = platform["booking"], platform["inventory"]
    clinic = await _bookable_clinic(platform, test_env)
    await _receive(inventory, clinic, "cartridge", "CT-1", 1)
    await _receive(inventory, clinic, "cream", "LC-1", 30)

    first = await _book(booking, clinic, 9)
    await _status_becomes(booking, first, "confirmed")
    second = await _book(booking, clinic, 11)  # the only cartridge is reserved for the first
    await _status_becomes(booking, second, "rejected")

    lots = await _stock(inventory, clinic)
    assert (lots["CT-1"]["reserved"], lots["LC-1"]["reserved"]) == ("1.000", "3.000")
    free = await booking.get(
        f"/clinics/{clinic['id']}/availability",
        params={
            "treatment_id": clinic["treatment_id"],
            "areas": "face",
            "from": str(_weekday(7)),
            "to": str(_weekday(7)),
        },
    )
    rejected_start = second["appointment"]["starts_at"].replace("Z", "+00:00")
    assert rejected_start in {s["starts_at"].replace("Z", "+00:00") for s in free.json()["slots"]}, "time freed"


async def test_cancel_releases_and_completion_consumes_the_recorded_lot(
    platform: dict[str, httpx.AsyncClient], test_env: TestEnvironment
) -> None:
    booking, inventory = platform["booking"], platform["inventory"]
    clinic = await _bookable_clinic(platform, test_env)
    await _receive(inventory, clinic, "cartridge", "CT-1", 5)
    await _receive(inventory, clinic, "cream", "LC-1", 30)
    cancelled, treated = await _book(booking, clinic, 9), await _book(booking, clinic, 11)
    await _status_becomes(booking, cancelled, "confirmed")
    await _status_becomes(booking, treated, "confirmed")

    link = {"Authorization": f"Bearer {cancelled['manage_token']}"}
    await _ok(await booking.post(f"/appointments/{cancelled['appointment']['id']}/cancel", json={}, headers=link))

    async def released() -> bool:
        return (await _stock(inventory, clinic))["CT-1"]["reserved"] == "1.000"

    await eventually(released, timeout_s=10, what="the cancelled visit's kit to be released")

    admin = test_env.auth_header(Role.ADMIN)
    visit = treated["appointment"]["id"]
    await _ok(await booking.post(f"/appointments/{visit}/check-in", headers=admin))
    await _ok(
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
        lots = await _stock(inventory, clinic)
        return lots["CT-1"]["on_hand"] == "4.000" and lots["CT-1"]["reserved"] == "0.000"

    await eventually(consumed, timeout_s=10, what="the completed visit's kit to be consumed")
    ledger = (
        await inventory.get(
            f"/clinics/{clinic['id']}/ledger", params={"appointment_id": visit, "reason": "consumed"},
            headers=clinic["manager"],
        )
    ).json()["items"]  # fmt: skip
    assert sorted((e["lot_number"], e["on_hand_change"]) for e in ledger) == [("CT-1", "-1.000"), ("LC-1", "-3.000")]
