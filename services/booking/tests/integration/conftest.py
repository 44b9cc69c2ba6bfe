"""Booking's integration fixtures: the API on a fresh, migrated database, and bookable clinics built
through it as a clinic's admin would (hours, rooms, devices, a treatment, credentialed practitioners)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from booking.main import SERVICE, create_app
from booking.settings import BookingSettings
from clinic_shared.auth import Role
from clinic_shared.events import Envelope
from clinic_shared.events.catalogue import LotAllocation, SuppliesReserved
from clinic_shared.messaging import Broker
from clinic_shared.runtime import topology_of
from clinic_shared.testing.messaging import eventually
from clinic_shared.testing.plugin import TestEnvironment

WEEK = {
    day: [{"opens": "09:00", "closes": "17:00"}] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
}


@dataclass
class Bookable:
    clinic_id: str
    treatment_id: str
    practitioner_ids: list[str]
    zone: ZoneInfo
    day: date

    def body(self, starts_at: str, *, areas: tuple[str, ...] = ("face",), **overrides: Any) -> dict[str, Any]:
        """A booking request for this clinic's treatment."""
        return _booking_body(self, starts_at, areas=areas, **overrides)

    def at(self, hour: int, minute: int = 0) -> str:
        """An ISO start on the test day, clinic local time."""
        return datetime(self.day.year, self.day.month, self.day.day, hour, minute, tzinfo=self.zone).isoformat()


def next_weekday(days_ahead: int = 7) -> date:
    day = datetime.now(UTC).date() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


async def bookable_clinic(
    client: httpx.AsyncClient,
    env: TestEnvironment,
    *,
    practitioners: int = 1,
    rooms: int = 1,
    devices: int = 1,
    timezone: str = "Europe/Amsterdam",
) -> Bookable:
    admin = env.auth_header(Role.ADMIN)

    async def created(path: str, body: dict[str, Any], method: str = "POST") -> dict[str, Any]:
        response = await client.request(method, path, json=body, headers=admin)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    clinic = await created(
        "/clinics",
        {
            "name": f"Bookable {uuid.uuid4().hex[:8]}",
            "address": {"line1": "Herengracht 1", "city": "Amsterdam", "postal_code": "1015 BS", "country": "NL"},
            "timezone": timezone,
            "phone": "+31 20 555 0100",
            "opening_hours": WEEK,
            "booking_policy": {"slot_grid_minutes": 15, "min_notice_minutes": 60, "horizon_days": 60},
        },
    )
    clinic_id = clinic["id"]
    for number in range(rooms):
        await created(f"/clinics/{clinic_id}/rooms", {"name": f"Room {number + 1}"})
    for number in range(devices):
        await created(f"/clinics/{clinic_id}/devices", {"name": f"Pen {number + 1}", "model": "Pen 4"})
    treatment = await created(
        f"/clinics/{clinic_id}/treatments",
        {
            "name": "Microneedling",
            "numbing_minutes": 30,
            "procedure_minutes": {"face": 30, "neck": 15},
            "turnover_minutes": 15,
        },
    )
    today = datetime.now(UTC).date()
    practitioner_ids = []
    for number in range(practitioners):
        practitioner = await created(
            "/practitioners", {"name": f"Practitioner {number}", "profession": "dermatologist"}
        )
        await created(
            f"/practitioners/{practitioner['id']}/credentials",
            {
                "number": f"MN-{number}",
                "issuer": "Board",
                "valid_from": str(today - timedelta(days=30)),
                "valid_to": str(today + timedelta(days=365)),
            },
        )
        await created(f"/practitioners/{practitioner['id']}/clinics/{clinic_id}", WEEK, method="PUT")
        practitioner_ids.append(practitioner["id"])
    return Bookable(
        clinic_id=clinic_id,
        treatment_id=treatment["id"],
        practitioner_ids=practitioner_ids,
        zone=ZoneInfo(timezone),
        day=next_weekday(),
    )


def _booking_body(
    place: Bookable, starts_at: str, *, areas: tuple[str, ...] = ("face",), **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "clinic_id": place.clinic_id,
        "treatment_id": place.treatment_id,
        "areas": list(areas),
        "starts_at": starts_at,
        "patient": {
            "display_name": "Sam Patient",
            "email": "sam@example.org",
            "preferred_channel": "email",
            "care_messages_consent": True,
        },
        "consent": {"accepted": True, "text_version": "2026-11"},
    }
    body.update(overrides)
    return body


@pytest.fixture(scope="module")
async def crowded(test_env: TestEnvironment, service_databases: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """Booking's API with a pool of 40 connections, so 40 transactions of a race are open at once and
    really meet in PostgreSQL."""
    app = create_app(test_env.settings(SERVICE, database_pool_size=40))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://booking.test", timeout=60) as client:
        yield client
    await app.state.engine.dispose()


@pytest.fixture(scope="session")
async def booking(test_env: TestEnvironment, service_databases: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    settings = test_env.settings(SERVICE)
    assert isinstance(settings, BookingSettings)
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://booking.test") as client:
        yield client
    await app.state.engine.dispose()


@pytest.fixture
def new_bookable(booking: httpx.AsyncClient, test_env: TestEnvironment) -> Callable[..., Awaitable[Bookable]]:
    return partial(bookable_clinic, booking, test_env)


@pytest.fixture(scope="module")
async def inventory(test_env: TestEnvironment, service_databases: dict[str, str]) -> AsyncIterator[Broker]:
    """Booking's worker running, and a broker connection to answer as inventory would."""
    settings = test_env.settings(SERVICE)
    worker = SERVICE.worker(settings)
    async with worker.router.lifespan_context(worker):
        broker = Broker(test_env.amqp_url, service="inventory", topology=topology_of(settings), publish_timeout_s=5)
        await broker.connect()
        yield broker
        await broker.close()


async def supplies_reserved(inventory: Broker, appointment: dict[str, Any]) -> None:
    """Answer a booked visit's request as inventory does when its kit is reserved."""
    reserved = Envelope.wrap(
        SuppliesReserved(
            appointment_id=appointment["id"],
            clinic_id=appointment["clinic_id"],
            allocations=[
                LotAllocation(
                    item_id=uuid.uuid4(), lot_number="L-1", expires_on=date(2030, 1, 1), quantity=1, unit="each"
                )
            ],
        ),
        producer="inventory",
    )
    await inventory.publish_event(reserved.to_json_dict(), routing_key=reserved.routing_key)


@pytest.fixture
def reserve_supplies(inventory: Broker) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """Answer a booked visit (its `appointment`) as inventory would, without waiting for the answer."""
    return partial(supplies_reserved, inventory)


@pytest.fixture
def confirm(booking: httpx.AsyncClient, inventory: Broker) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """Confirm a booked visit (the POST /appointments answer) as inventory would, and wait for it."""

    async def confirmed(booked: dict[str, Any]) -> None:
        appointment = booked["appointment"]
        await supplies_reserved(inventory, appointment)
        link = {"Authorization": f"Bearer {booked['manage_token']}"}

        async def done() -> bool:
            read = await booking.get(f"/appointments/{appointment['id']}", headers=link)
            return bool(read.json()["status"] == "confirmed")

        await eventually(done, what="the visit to be confirmed")

    return confirmed
