"""Reorder points and the forecast of reserved kits against usable stock."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from clinic_shared.web import ERROR_RESPONSES, RequestModel
from inventory.api.common import CLINIC, ClinicId, ClinicManager, UnitOfWork
from inventory.domain.forecast import first_shortfall
from inventory.service import alerts, movements

router = APIRouter(responses=ERROR_RESPONSES)


class ReorderPointIn(RequestModel):
    level: Annotated[Decimal, Field(ge=0, le=Decimal("1000000"), max_digits=12, decimal_places=3)]


@router.put("/clinics/{clinic_id}/reorder-points/{item_id}", summary="Set an item's reorder point",
            tags=["alerts"], responses=CLINIC)  # fmt: skip
async def set_reorder_point(
    clinic_id: ClinicId, item_id: UUID, body: ReorderPointIn, uow: UnitOfWork, principal: ClinicManager
) -> ReorderPointIn:
    """`stock low` goes out once each time the clinic's available stock of the item falls below it."""
    await movements.set_reorder_point(uow, clinic_id=clinic_id, item_id=item_id, level=body.level)
    return body


class ForecastDayOut(BaseModel):
    day: date
    usable: Decimal = Field(description="on hand in lots still valid that day, not quarantined or recalled")
    committed: Decimal = Field(description="reserved for visits that day or later")
    free: Decimal


class ItemForecastOut(BaseModel):
    item_id: UUID
    first_shortfall: date | None
    days: list[ForecastDayOut]


@router.get("/clinics/{clinic_id}/forecast", summary="Reserved demand against usable stock", tags=["alerts"],
            responses=CLINIC)  # fmt: skip
async def clinic_forecast(
    clinic_id: ClinicId,
    uow: UnitOfWork,
    principal: ClinicManager,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> list[ItemForecastOut]:
    """Per item and day: what is still usable that day against the kits reserved for visits from
    that day on; `first_shortfall` is the first day the second exceeds the first."""
    projection = await alerts.forecast(uow, clinic_id=clinic_id, days=days)
    return [
        ItemForecastOut(
            item_id=item_id,
            first_shortfall=short.day if (short := first_shortfall(item_days)) else None,
            days=[ForecastDayOut(day=d.day, usable=d.usable, committed=d.committed, free=d.free) for d in item_days],
        )
        for item_id, item_days in projection.items()
    ]
