"""Every route under /clinics/{clinic_id} refuses the staff of another clinic with 403, whatever the
body: the routes are read off the application's OpenAPI document, so a new route is covered as soon as
it exists."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from clinic_shared.auth import STAFF_ROLES, Role
from clinic_shared.testing.plugin import TestEnvironment
from clinic_shared.testing.scope import let_through, scoped_routes
from inventory.main import SERVICE, create_app

pytestmark = pytest.mark.integration

NewClinic = Callable[..., Awaitable[Any]]


async def test_every_clinic_route_refuses_staff_of_another_clinic(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, test_env: TestEnvironment
) -> None:
    clinic, elsewhere = await new_clinic(), await new_clinic()
    routes = scoped_routes(create_app(test_env.settings(SERVICE)))
    assert len(routes) >= 15, routes
    # The ids below the clinic are not the clinic's own: the clinic's scope is decided before any is looked up.
    ids = {"clinic_id": str(clinic.id), "area": "face"} | {
        name: str(uuid.uuid4()) for name in ("lot_id", "tube_id", "item_id", "transfer_id")
    }
    outsiders = {
        role.value: test_env.auth_header(role, clinics=[elsewhere.id]) for role in STAFF_ROLES if role is not Role.ADMIN
    }

    assert await let_through(inventory, routes, ids=ids, callers=outsiders) == []
