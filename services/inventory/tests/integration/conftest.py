"""Inventory's integration fixtures: the API on a fresh, migrated database, clinics known through
booking's event, items and stock set up through the API as a manager would, and booking's events
delivered to inventory's handlers in their own transactions, as the consumer delivers them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from clinic_shared.auth import Role
from clinic_shared.db import create_session_factory
from clinic_shared.events import Event
from clinic_shared.events.catalogue import Address, ClinicChanged
from clinic_shared.projections.clinics import apply_clinic_changed
from clinic_shared.testing.messaging import handle_directly
from clinic_shared.testing.plugin import TestEnvironment
from inventory.consumers import APPOINTMENTS
from inventory.main import SERVICE, create_app
from inventory.settings import InventorySettings

Deliver = Callable[[Event], Awaitable[None]]


@pytest.fixture(scope="session")
async def inventory(test_env: TestEnvironment, service_databases: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    settings = test_env.settings(SERVICE)
    assert isinstance(settings, InventorySettings)
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inventory.test") as client:
        yield client
    await app.state.engine.dispose()


@pytest.fixture(scope="session")
async def engine(test_env: TestEnvironment, service_databases: dict[str, str]) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(test_env.database_url("inventory"), pool_size=10, max_overflow=20)
    yield engine
    await engine.dispose()


@pytest.fixture
def deliver(engine: AsyncEngine) -> Deliver:
    """Hand one event to the handler the appointment consumer routes it to, in its own transaction."""
    factory = create_session_factory(engine)

    async def delivered(event: Event) -> None:
        handler = APPOINTMENTS.handlers.get(type(event)) or apply_clinic_changed  # type: ignore[call-overload]
        await handle_directly(factory, handler, event, producer="booking", consumer="inventory")

    return delivered


@dataclass
class Clinic:
    id: uuid.UUID
    manager: dict[str, str]
    cartridge: str
    cream: str


@pytest.fixture
def answers(engine: AsyncEngine) -> Callable[[uuid.UUID], Awaitable[list[dict[str, Any]]]]:
    """Inventory's events about one appointment, in the order it wrote them."""

    async def written(appointment_id: uuid.UUID) -> list[dict[str, Any]]:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT body FROM outbox WHERE body->'payload'->>'appointment_id' = :id"
                    " AND body->>'producer' = 'inventory' ORDER BY id"
                ),
                {"id": str(appointment_id)},
            )
            return [{"type": row.body["type"], **row.body["payload"]} for row in rows]

    return written


@pytest.fixture
def new_clinic(
    inventory: httpx.AsyncClient, test_env: TestEnvironment, deliver: Deliver
) -> Callable[..., Awaitable[Clinic]]:
    """A clinic inventory knows (booking's event applied), two items and the clinic's own face kit:
    one cartridge and 3 g of numbing cream."""

    async def made(timezone: str = "Europe/Amsterdam") -> Clinic:
        clinic_id = uuid.uuid4()
        await deliver(
            ClinicChanged(
                clinic_id=clinic_id,
                revision=1,
                name=f"Stock Clinic {clinic_id.hex[:6]}",
                address=Address(line1="Herengracht 1", city="Amsterdam", postal_code="1015 BS", country="NL"),
                timezone=timezone,
                phone="+31 20 555 0100",
            )
        )
        admin = test_env.auth_header(Role.ADMIN)
        cartridge = await inventory.post(
            "/items",
            json={"name": "Cartridge 36-pin", "kind": "cartridge", "unit": "each", "needle_configuration": "36-pin",
                  "fits_device_models": ["Pen 4"]},
            headers=admin,
        )  # fmt: skip
        cream = await inventory.post(
            "/items",
            json={"name": "Lidocaine cream 5%", "kind": "numbing_cream", "unit": "gram",
                  "active_ingredient": "lidocaine", "concentration_percent": "5"},
            headers=admin,
        )  # fmt: skip
        assert cartridge.status_code == 201, cartridge.text
        assert cream.status_code == 201, cream.text
        manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[clinic_id])
        kit = await inventory.put(
            f"/clinics/{clinic_id}/kits/face",
            json=[
                {"item_id": cartridge.json()["id"], "quantity": "1"},
                {"item_id": cream.json()["id"], "quantity": "3"},
            ],
            headers=manager,
        )
        assert kit.status_code == 200, kit.text
        return Clinic(id=clinic_id, manager=manager, cartridge=cartridge.json()["id"], cream=cream.json()["id"])

    return made


@pytest.fixture
def receive(inventory: httpx.AsyncClient) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Receive a delivery through the API as the clinic's manager: (clinic, item id, lot, expiry, quantity)."""

    async def received(
        clinic: Clinic, item_id: str, lot: str, expires_on: date, quantity: Decimal | int
    ) -> dict[str, Any]:
        response = await inventory.post(
            f"/clinics/{clinic.id}/deliveries",
            json={"item_id": item_id, "lot_number": lot, "expires_on": str(expires_on), "quantity": str(quantity)},
            headers=clinic.manager,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    return received
