"""Schemathesis against each running service API (booking, inventory, notifications), as an admin: no
generated request causes a 5xx, and every answer keeps to the OpenAPI document (status codes, content
types, bodies).

Random ids only reach a route's front door (a 404), so each API runs on databases of its own, seeded
with records of every kind its routes name (a clinic, its practitioner, rooms and treatment, a visit, a
patient, a course, a waitlist entry; items, lots, a tube, a transfer; a clinic, patient and visit as
notifications knows them), and about half the generated requests carry those real ids in the path,
query and body. The fuzzer touches nothing but what it made: no other test's data, no demo clinic."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from sqlalchemy.engine import make_url

from clinic_shared.auth import Role
from clinic_shared.db import create_engine, create_session_factory
from clinic_shared.events import catalogue
from clinic_shared.migrations import upgrade
from clinic_shared.projections.clinics import apply_clinic_changed
from clinic_shared.runtime import discover_services
from clinic_shared.testing.messaging import handle_directly
from clinic_shared.testing.plugin import TestEnvironment
from clinic_shared.testing.processes import ServiceProcess, free_port, start, stop, wait_until_ready
from notifications.consumers import PATIENTS_AND_VISITS
from tests.journeys import CONSENT, PATIENT, book, bookable_clinic, ok, weekday

pytestmark = pytest.mark.contract

# Every check but "schema-valid data is accepted": an unknown time zone or overlapping opening hours
# are schema-valid and still a documented 422 from the domain rules.
CONFIG = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {"enabled": False}}})

# The service, and how many operations its schema has at least (a guard against losing routes).
APIS = {"booking": 40, "inventory": 20, "notifications": 15}
EXAMPLES = 30


@dataclass
class Seeded:
    api: ServiceProcess
    ids: dict[str, str]


Seed = Callable[[httpx.AsyncClient, TestEnvironment, str], Awaitable[dict[str, str]]]


@pytest.fixture(scope="module", params=sorted(APIS))
async def seeded_api(
    request: pytest.FixtureRequest, test_env: TestEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, Seeded]]:
    """The service's API as a process of its own, on a database of its own, seeded through its API
    (and its event handlers, for what it learns from other services)."""
    name: str = request.param
    definition = discover_services()[name]
    database = f"t_{test_env.run_id}_fuzz_{name}"
    url = make_url(test_env.database_url(name)).set(database=database).render_as_string(hide_password=False)
    await test_env.create_database(database)
    await asyncio.to_thread(upgrade, definition.root, url)
    port = free_port()
    env = {
        **os.environ,
        **test_env.environ(definition, http_port=port, worker_http_port=free_port(), database_url=url),
    }
    process = start(f"{name}-api", port=port, env=env, logs=tmp_path_factory.mktemp(f"schemathesis-{name}"))
    try:
        await wait_until_ready([process])
        async with httpx.AsyncClient(base_url=process.url, headers=test_env.auth_header(Role.ADMIN)) as client:
            ids = await SEEDS[name](client, test_env, url)
        yield name, Seeded(api=process, ids=ids)
    finally:
        stop([process])
        await test_env.drop_database(database)


def test_the_api_never_fails_and_keeps_to_its_schema(seeded_api: tuple[str, Seeded], test_env: TestEnvironment) -> None:
    name, seeded = seeded_api
    # Schemathesis' pytest plugin does not run under pytest 9 here (`Function` has no `_nodeid`), so
    # its Python API drives Hypothesis directly, one operation after another, as an admin.
    admin = test_env.auth_header(Role.ADMIN)
    schema = schemathesis.openapi.from_url(f"{seeded.api.url}/openapi.json", config=CONFIG)
    failures = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= APIS[name], "the schema lost its operations"
    reached = 0
    for operation in operations:

        @given(case=operation.as_strategy(), real=st.booleans())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def exercise(case: Any, real: bool) -> None:
            nonlocal reached
            if real:
                _with_real_ids(case, seeded.ids)
            response = case.call_and_validate(headers=admin)
            reached += response.status_code not in (404, 422)

        try:
            exercise()
        except Exception as failure:  # collect every operation's failure, then report them together
            failures[operation.label] = failure
    assert not failures, "\n\n".join(f"{label}:\n{failure}" for label, failure in failures.items())
    # With real ids, requests get past the front door: a guard against seeding that stopped working.
    assert reached >= len(operations) * 3, f"only {reached} requests got past a 404 or 422"


def _with_real_ids(case: Any, ids: dict[str, str]) -> None:
    """Put the seeded ids wherever the case names one: path, query and the body's top level."""
    for part in (case.path_parameters, case.query):
        for key in list(part or {}):
            if key in ids:
                part[key] = ids[key]
    if isinstance(case.body, dict):
        for key in list(case.body):
            if key in ids:
                case.body[key] = ids[key]


async def _seed_booking(client: httpx.AsyncClient, test_env: TestEnvironment, url: str) -> dict[str, str]:
    place = await bookable_clinic(client, test_env)
    here = f"/clinics/{place['id']}"
    closure_day = str(weekday(40))
    closure = ok(await client.post(f"{here}/closures", json={"first_day": closure_day, "last_day": closure_day}))
    visit = (await book(client, place, 10, course_sessions=2))["appointment"]
    screening = ok(await client.get(f"/appointments/{visit['id']}/screening"))
    saturday = weekday(7) + timedelta(days=5 - weekday(7).weekday())  # the clinic is closed at weekends
    joined = ok(
        await client.post(
            f"{here}/waitlist",
            json={"treatment_id": place["treatment_id"], "areas": ["face"], "from": str(saturday),
                  "to": str(saturday + timedelta(days=1)), "patient": PATIENT, "consent": CONSENT},
        )
    )  # fmt: skip
    return {
        "clinic_id": place["id"], "room_id": place["room_id"], "device_id": place["device_id"],
        "treatment_id": place["treatment_id"], "practitioner_id": place["practitioner_id"],
        "closure_id": closure["id"], "appointment_id": visit["id"], "patient_id": screening["patient_id"],
        "course_id": visit["course_id"], "entry_id": joined["entry"]["id"],
    }  # fmt: skip


async def _known_clinic(url: str, consumer: str) -> str:
    """A clinic as booking announces it, applied by the service's own handler."""
    clinic_id = uuid.uuid4()
    engine = create_engine(url, pool_size=1)
    try:
        await handle_directly(
            create_session_factory(engine),
            apply_clinic_changed,
            catalogue.ClinicChanged(
                clinic_id=clinic_id, revision=1, name=f"Fuzzed {clinic_id.hex[:6]}", timezone="Europe/Amsterdam",
                address=catalogue.Address(line1="Herengracht 1", city="Amsterdam", postal_code="1015 BS", country="NL"),
                phone="+31 20 555 0100",
            ),
            producer="booking",
            consumer=consumer,
        )  # fmt: skip
    finally:
        await engine.dispose()
    return str(clinic_id)


async def _seed_inventory(client: httpx.AsyncClient, test_env: TestEnvironment, url: str) -> dict[str, str]:
    clinic_id, other_id = await _known_clinic(url, "inventory"), await _known_clinic(url, "inventory")
    here = f"/clinics/{clinic_id}"
    cartridge = ok(
        await client.post(
            "/items",
            json={"name": "Cartridge 36-pin", "kind": "cartridge", "unit": "each", "needle_configuration": "36-pin",
                  "fits_device_models": ["Pen 4"]},
        )
    )  # fmt: skip
    cream = ok(
        await client.post(
            "/items",
            json={"name": "Lidocaine cream 5%", "kind": "numbing_cream", "unit": "tube", "tube_grams": "30",
                  "active_ingredient": "lidocaine", "concentration_percent": "5"},
        )
    )  # fmt: skip
    expires = str(datetime.now(UTC).date() + timedelta(days=365))

    async def delivered(item: dict[str, Any], lot_number: str, quantity: str) -> dict[str, Any]:
        body = {"item_id": item["id"], "lot_number": lot_number, "expires_on": expires, "quantity": quantity}
        return ok(await client.post(f"{here}/deliveries", json=body))

    lot, tube_lot = await delivered(cartridge, "FZ-1", "50"), await delivered(cream, "FZ-C", "3")
    tube = ok(await client.post(f"{here}/lots/{tube_lot['id']}/open-tube"))
    transfer = ok(
        await client.post(f"{here}/transfers", json={"to_clinic_id": other_id, "lot_id": lot["id"], "quantity": "5"})
    )
    return {
        "clinic_id": clinic_id, "to_clinic_id": other_id, "item_id": cartridge["id"], "lot_id": lot["id"],
        "tube_id": tube["id"], "transfer_id": transfer["id"], "area": "face",
    }  # fmt: skip


async def _seed_notifications(client: httpx.AsyncClient, test_env: TestEnvironment, url: str) -> dict[str, str]:
    clinic_id = await _known_clinic(url, "notifications")
    patient_id, appointment_id = uuid.uuid4(), uuid.uuid4()
    starts_at = datetime.now(UTC) + timedelta(days=8)
    engine = create_engine(url, pool_size=1)
    try:
        for event in (
            catalogue.PatientContactChanged(
                patient_id=patient_id, revision=1, display_name="Fuzz Patient", email="fuzz@example.org",
                preferred_channel="email", care_messages_consent=True, marketing_consent=True,
            ),
            catalogue.AppointmentConfirmed(
                appointment_id=appointment_id, clinic_id=uuid.UUID(clinic_id), patient_id=patient_id,
                starts_at=starts_at, ends_at=starts_at + timedelta(minutes=75), areas=["face"],
                practitioner_id=uuid.uuid4(),
            ),
        ):  # fmt: skip
            handler = PATIENTS_AND_VISITS.handlers[type(event)]
            await handle_directly(
                create_session_factory(engine), handler, event, producer="booking", consumer="notifications"
            )
    finally:
        await engine.dispose()
    return {
        "clinic_id": clinic_id, "patient_id": str(patient_id), "appointment_id": str(appointment_id),
        "kind": "confirmation", "channel": "email",
    }  # fmt: skip


SEEDS: dict[str, Seed] = {"booking": _seed_booking, "inventory": _seed_inventory, "notifications": _seed_notifications}
