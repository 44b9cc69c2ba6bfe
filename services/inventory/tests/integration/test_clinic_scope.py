"""Every route under /clinics/{clinic_id} refuses the staff of another clinic with 403, whatever the
body: the routes are read off the application's OpenAPI document, so a new route is covered as soon as
it exists."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from clinic_shared.auth import Role
from clinic_shared.testing.plugin import TestEnvironment
from inventory.main import SERVICE, create_app

pytestmark = pytest.mark.integration

NewClinic = Callable[..., Awaitable[Any]]


def _clinic_routes(test_env: TestEnvironment) -> list[tuple[str, str]]:
    """From the OpenAPI document, which lists every route the application serves."""
    paths = create_app(test_env.settings(SERVICE)).openapi()["paths"]
    return sorted(
        (method.upper(), path) for path, methods in paths.items() if "{clinic_id}" in path for method in methods
    )


async def test_every_clinic_route_refuses_a_manager_of_another_clinic(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, test_env: TestEnvironment
) -> None:
    clinic = await new_clinic()
    outsider = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[uuid.uuid4()])
    routes = _clinic_routes(test_env)
    assert len(routes) >= 15, routes

    let_through = []
    for method, path in routes:
        url = re.sub(r"\{(\w+)\}", lambda m: str(clinic.id) if m.group(1) == "clinic_id" else (
            "face" if m.group(1) == "area" else str(uuid.uuid4())), path)  # fmt: skip
        answer = await inventory.request(method, url, json={}, headers=outsider)
        if answer.status_code != 403:
            let_through.append((method, path, answer.status_code))

    assert let_through == [], "these answer a manager of another clinic without a 403"
