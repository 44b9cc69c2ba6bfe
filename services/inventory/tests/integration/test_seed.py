"""The demo data the run command loads: the catalogue, default kits and realistic opening stock (one
item low, a lot near expiry) at every clinic inventory knows; a second run adds nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from clinic_shared.db import create_session_factory
from inventory.seed import seed_demo

pytestmark = pytest.mark.integration


async def test_the_demo_stock_is_realistic_and_loading_it_twice_adds_nothing(
    inventory: httpx.AsyncClient, new_clinic: Callable[..., Awaitable[Any]], engine: AsyncEngine
) -> None:
    clinic = await new_clinic()
    factory = create_session_factory(engine)

    await seed_demo(factory)
    first = (await inventory.get(f"/clinics/{clinic.id}/stock", headers=clinic.manager)).json()["items"]
    await seed_demo(factory)
    second = (await inventory.get(f"/clinics/{clinic.id}/stock", headers=clinic.manager)).json()["items"]

    assert first == second
    assert {lot["lot_number"] for lot in first} >= {"DEMO-STER-A", "DEMO-NUMB-A", "DEMO-NUMB-SOON", "DEMO-NITR-A"}
    async with engine.connect() as connection:
        reorder_points = await connection.scalar(
            text("SELECT count(*) FROM reorder_points WHERE clinic_id = :clinic"), {"clinic": clinic.id}
        )
        default_areas = await connection.scalar(text("SELECT count(DISTINCT area) FROM default_kit_lines"))
    assert reorder_points == 4
    assert default_areas == 4
