"""Tenancy across notifications' API: every route that takes a clinic's, patient's or appointment's id
refuses staff of another clinic with 403, whatever the body (read off the OpenAPI document, so a new
route is covered at once). A patient's messages were an empty 200 to outsiders; now a 403 like the rest."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from clinic_shared.auth import STAFF_ROLES, Role
from clinic_shared.testing.plugin import TestEnvironment
from clinic_shared.testing.scope import let_through, scoped_routes
from notifications.main import SERVICE, create_app

pytestmark = pytest.mark.integration

NewVisit = Callable[..., Awaitable[Any]]
Deliver = Callable[..., Awaitable[None]]


async def test_every_scoped_route_refuses_staff_of_another_clinic(
    notifications: httpx.AsyncClient, new_visit: NewVisit, deliver: Deliver, test_env: TestEnvironment
) -> None:
    visit, elsewhere = await new_visit(), await new_visit()
    await deliver(visit.requested())
    routes = scoped_routes(create_app(test_env.settings(SERVICE)))
    assert len(routes) >= 10, routes
    ids = {
        "clinic_id": str(visit.clinic_id),
        "patient_id": str(visit.patient_id),
        "appointment_id": str(visit.appointment_id),
        "kind": "confirmation",
        "channel": "email",
    }
    outsiders = {
        role.value: test_env.auth_header(role, clinics=[elsewhere.clinic_id])
        for role in STAFF_ROLES
        if role is not Role.ADMIN
    }

    assert await let_through(notifications, routes, ids=ids, callers=outsiders) == []


async def test_staff_of_the_patients_clinic_read_the_patients_messages_and_nobody_probes_for_patients(
    notifications: httpx.AsyncClient, new_visit: NewVisit, deliver: Deliver, test_env: TestEnvironment
) -> None:
    visit = await new_visit()
    await deliver(visit.confirmed())
    path = f"/patients/{visit.patient_id}/messages"
    own = test_env.auth_header(Role.FRONT_DESK, clinics=[visit.clinic_id])
    other = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.uuid4()])

    mine = await notifications.get(path, headers=own)
    theirs = await notifications.get(path, headers=other)
    nobody = await notifications.get(f"/patients/{uuid.uuid4()}/messages", headers=own)

    assert mine.status_code == 200
    assert {m["kind"] for m in mine.json()} == {"confirmation", "reminder"}
    assert (theirs.status_code, theirs.json()["field"]) == (403, "patient_id")
    assert nobody.status_code == 403, "an unknown patient looks like another clinic's"
