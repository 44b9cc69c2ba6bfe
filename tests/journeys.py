"""Journeys through the services' HTTP APIs for integration and system tests: a clinic set up as
its admin and manager would (booking's rooms, devices, treatment and practitioner; inventory's
items, kit and stock), a patient's booking, and waiting for the saga to decide."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from clinic_shared.auth import Role
from clinic_shared.testing.messaging import eventually
from clinic_shared.testing.plugin import TestEnvironment

ZONE = ZoneInfo("Europe/Amsterdam")
WEEK = {
    day: [{"opens": "09:00", "closes": "17:00"}] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
}


def weekday(days_ahead: int) -> date:
    day = datetime.now(UTC).date() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def bookable_clinic(booking: httpx.AsyncClient, env: TestEnvironment) -> dict[str, Any]:
    """A clinic in booking set up by its admin: one practitioner (credentialed, working weekdays), room
    and device, and a face treatment."""
    admin = env.auth_header(Role.ADMIN)
    clinic = ok(
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
    room = ok(await booking.post(f"/clinics/{clinic_id}/rooms", json={"name": "Room 1"}, headers=admin))
    device = ok(
        await booking.post(f"/clinics/{clinic_id}/devices", json={"name": "Pen", "model": "Pen 4"}, headers=admin)
    )
    treatment = ok(
        await booking.post(
            f"/clinics/{clinic_id}/treatments",
            json={"name": "Microneedling", "numbing_minutes": 30, "procedure_minutes": {"face": 30},
                  "turnover_minutes": 15},
            headers=admin,
        )
    )  # fmt: skip
    practitioner = ok(
        await booking.post("/practitioners", json={"name": "Dr Saga", "profession": "dermatologist"}, headers=admin)
    )
    today = datetime.now(UTC).date()
    ok(
        await booking.post(
            f"/practitioners/{practitioner['id']}/credentials",
            json={"number": "MN-1", "issuer": "Board", "valid_from": str(today - timedelta(days=30)),
                  "valid_to": str(today + timedelta(days=365))},
            headers=admin,
        )
    )  # fmt: skip
    ok(await booking.put(f"/practitioners/{practitioner['id']}/clinics/{clinic_id}", json=WEEK, headers=admin))
    return {
        "id": clinic_id,
        "name": clinic["name"],
        "treatment_id": treatment["id"],
        "practitioner_id": practitioner["id"],
        "room_id": room["id"],
        "device_id": device["id"],
    }


async def bookable_clinic_with_supplies(
    booking: httpx.AsyncClient, inventory: httpx.AsyncClient, env: TestEnvironment
) -> dict[str, Any]:
    """A clinic in booking (one practitioner, room and device, a face treatment), known to inventory,
    with a face kit of one cartridge and 3 g of cream."""
    admin = env.auth_header(Role.ADMIN)
    place = await bookable_clinic(booking, env)
    clinic_id = place["id"]

    async def known() -> bool:
        return (await inventory.get(f"/clinics/{clinic_id}", headers=admin)).status_code == 200

    await eventually(known, timeout_s=10, what="inventory to learn of the clinic")
    cartridge = ok(
        await inventory.post(
            "/items",
            json={"name": "Cartridge 36-pin", "kind": "cartridge", "unit": "each", "needle_configuration": "36-pin",
                  "fits_device_models": ["Pen 4"]},
            headers=admin,
        )
    )  # fmt: skip
    cream = ok(
        await inventory.post(
            "/items",
            json={"name": "Lidocaine 5%", "kind": "numbing_cream", "unit": "gram", "active_ingredient": "lidocaine",
                  "concentration_percent": "5"},
            headers=admin,
        )
    )  # fmt: skip
    manager = env.auth_header(Role.CLINIC_MANAGER, clinics=[uuid.UUID(clinic_id)])
    ok(
        await inventory.put(
            f"/clinics/{clinic_id}/kits/face",
            json=[{"item_id": cartridge["id"], "quantity": "1"}, {"item_id": cream["id"], "quantity": "3"}],
            headers=manager,
        )
    )
    return {
        "id": clinic_id,
        "name": place["name"],
        "treatment_id": place["treatment_id"],
        "cartridge": cartridge["id"],
        "cream": cream["id"],
        "manager": manager,
    }


async def receive(inventory: httpx.AsyncClient, clinic: dict[str, Any], item: str, lot: str, quantity: int) -> None:
    ok(
        await inventory.post(
            f"/clinics/{clinic['id']}/deliveries",
            json={"item_id": clinic[item], "lot_number": lot, "expires_on": str(date.today() + timedelta(days=400)),
                  "quantity": str(quantity)},
            headers=clinic["manager"],
        )
    )  # fmt: skip


PATIENT = {"display_name": "Sam Saga", "email": "sam@example.org", "care_messages_consent": True}
CONSENT = {"accepted": True, "text_version": "2026-11"}


async def book(booking: httpx.AsyncClient, clinic: dict[str, Any], hour: int, **extra: Any) -> dict[str, Any]:
    """A patient books the clinic's face treatment a week ahead at this hour (clinic time)."""
    day = weekday(7)
    starts_at = datetime(day.year, day.month, day.day, hour, tzinfo=ZONE).isoformat()
    return ok(
        await booking.post(
            "/appointments",
            json={
                "clinic_id": clinic["id"],
                "treatment_id": clinic["treatment_id"],
                "areas": ["face"],
                "starts_at": starts_at,
                "patient": PATIENT,
                "consent": CONSENT,
                **extra,
            },
        )
    )


async def status_becomes(booking: httpx.AsyncClient, booked: dict[str, Any], status: str) -> None:
    link = {"Authorization": f"Bearer {booked['manage_token']}"}

    async def reached() -> bool:
        read = await booking.get(f"/appointments/{booked['appointment']['id']}", headers=link)
        return bool(read.json()["status"] == status)

    await eventually(reached, timeout_s=10, what=f"the visit to become {status}")


async def stock(inventory: httpx.AsyncClient, clinic: dict[str, Any]) -> dict[str, dict[str, Any]]:
    lots = (await inventory.get(f"/clinics/{clinic['id']}/stock", headers=clinic["manager"])).json()["items"]
    return {lot["lot_number"]: lot for lot in lots}
