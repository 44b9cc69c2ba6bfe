"""Booking's clinics reach inventory's and notifications' projections through the real outbox,
relay, broker and consumers (every process in-process here; tests/system runs them as processes)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from uuid import UUID

import httpx
import pytest

from clinic_shared.auth import Role
from clinic_shared.events import Envelope
from clinic_shared.events.catalogue import Address, ClinicChanged
from clinic_shared.messaging import Broker
from clinic_shared.runtime import discover_services, topology_of
from clinic_shared.testing.messaging import eventually
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

PROJECTING = ("inventory", "notifications")


def _clinic_body() -> dict[str, Any]:
    return {
        "name": f"Projection Clinic {uuid.uuid4().hex[:6]}",
        "address": {"line1": "14 Bankside", "city": "London", "postal_code": "SE1 9TG", "country": "GB"},
        "timezone": "Europe/London",
        "phone": "+44 20 7946 0018",
        "opening_hours": {"tuesday": [{"opens": "08:30", "closes": "17:30"}]},
    }


async def _projected(client: httpx.AsyncClient, clinic_id: str, headers: dict[str, str]) -> dict[str, Any] | None:
    response = await client.get(f"/clinics/{clinic_id}", headers=headers)
    return response.json() if response.status_code == 200 else None


async def test_a_new_clinic_and_its_changes_reach_both_projections(
    platform: dict[str, httpx.AsyncClient], test_env: TestEnvironment
) -> None:
    admin = test_env.auth_header(Role.ADMIN)
    clinic = (await platform["booking"].post("/clinics", json=_clinic_body(), headers=admin)).json()
    await platform["booking"].patch(f"/clinics/{clinic['id']}", json={"name": clinic["name"] + " West"}, headers=admin)

    for service in PROJECTING:

        async def caught_up(service: str = service) -> bool:
            view = await _projected(platform[service], clinic["id"], admin)
            return view is not None and view["revision"] == 2

        await eventually(caught_up, timeout_s=10, what=f"{service} to project revision 2")
        view = await _projected(platform[service], clinic["id"], admin)
        assert view is not None
        assert view["name"] == clinic["name"] + " West"
        assert view["timezone"] == "Europe/London"
        assert view["phone"] == "+442079460018"
        assert view["address"]["city"] == "London"


async def test_a_stale_revision_arriving_late_changes_nothing(
    platform: dict[str, httpx.AsyncClient], test_env: TestEnvironment
) -> None:
    admin = test_env.auth_header(Role.ADMIN)
    clinic_id = uuid.uuid4()
    broker = Broker(
        test_env.amqp_url,
        service="test",
        topology=topology_of(test_env.settings(discover_services()["booking"])),
        publish_timeout_s=5,
    )
    await broker.connect()
    try:
        for revision, name in ((2, "Newer"), (1, "Older")):
            event = ClinicChanged(
                clinic_id=clinic_id,
                revision=revision,
                name=name,
                address=Address(line1="1 Lane", city="Leeds", postal_code="LS1 1AA", country="GB"),
                timezone="Europe/London",
                phone="+441130000000",
            )
            envelope = Envelope.wrap(event, producer="booking")
            await broker.publish_event(envelope.to_json_dict(), routing_key=envelope.routing_key)
    finally:
        await broker.close()

    for service in PROJECTING:

        async def projected(service: str = service) -> bool:
            return await _projected(platform[service], str(clinic_id), admin) is not None

        await eventually(projected, what=f"{service} to project the clinic")
        await asyncio.sleep(0.3)  # room for the stale event to be (wrongly) applied
        view = await _projected(platform[service], str(clinic_id), admin)
        assert view is not None
        assert (view["revision"], view["name"]) == (2, "Newer")


@pytest.mark.parametrize("service", PROJECTING)
async def test_projections_are_read_only_and_scoped_to_the_callers_clinics(
    platform: dict[str, httpx.AsyncClient], test_env: TestEnvironment, service: str
) -> None:
    admin = test_env.auth_header(Role.ADMIN)
    mine, theirs = [
        (await platform["booking"].post("/clinics", json=_clinic_body(), headers=admin)).json()["id"] for _ in range(2)
    ]
    client = platform[service]
    for clinic_id in (mine, theirs):

        async def projected(clinic_id: str = clinic_id) -> bool:
            return await _projected(client, clinic_id, admin) is not None

        await eventually(projected, what="both clinics projected")
    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[UUID(mine)])

    listed = (await client.get("/clinics", headers=manager, params={"limit": 200})).json()
    assert [c["id"] for c in listed["items"]] == [mine]
    assert (await client.get(f"/clinics/{theirs}", headers=manager)).status_code == 403
    assert (await client.get(f"/clinics/{uuid.uuid4()}", headers=admin)).json()["code"] == "clinic_not_found"
    assert (await client.get("/clinics")).status_code == 401
    assert (await client.get("/clinics", headers=test_env.auth_header(Role.PATIENT))).status_code == 403
    assert (await client.post("/clinics", json=_clinic_body(), headers=admin)).status_code == 405
