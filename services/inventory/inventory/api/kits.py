"""Kits: what one visit uses per area, the clinic's own or the chain's default."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from clinic_shared.web import ERROR_RESPONSES, RequestModel, error_response
from inventory.api.common import (
    CLINIC,
    Admin,
    ClinicId,
    ClinicManager,
    ClinicStaff,
    Quantity,
    UnitOfWork,
)
from inventory.domain.kits import Area, KitLine
from inventory.service import stock as service

router = APIRouter(responses=ERROR_RESPONSES)


# --- kits ----------------------------------------------------------------------------------------------


class KitLineIn(RequestModel):
    item_id: UUID
    quantity: Quantity


class KitsOut(BaseModel):
    kits: dict[Area, list[KitLineIn]] = Field(description="per area: what one visit uses")


def _kits_out(kits: dict[Area, list[KitLine]]) -> KitsOut:
    return KitsOut(
        kits={
            area: [KitLineIn(item_id=line.item_id, quantity=line.quantity) for line in lines]
            for area, lines in kits.items()
        }
    )


@router.get("/clinics/{clinic_id}/kits", summary="The clinic's kits", tags=["kits"], responses=CLINIC)
async def clinic_kits(clinic_id: ClinicId, uow: UnitOfWork, principal: ClinicStaff) -> KitsOut:
    """Per area, the clinic's own kit where it has one, else the chain's default."""
    return _kits_out(await service.kits(uow, clinic_id=clinic_id))


@router.put("/clinics/{clinic_id}/kits/{area}", summary="Set the clinic's kit for an area", tags=["kits"],
            responses=CLINIC)  # fmt: skip
async def set_clinic_kit(
    clinic_id: ClinicId,
    area: Area,
    body: Annotated[list[KitLineIn], Field(max_length=20)],
    uow: UnitOfWork,
    principal: ClinicManager,
) -> KitsOut:
    """Replaces the clinic's kit for the area; an empty list goes back to the chain's default."""
    lines = [KitLine(item_id=line.item_id, quantity=line.quantity) for line in body]
    return _kits_out(await service.set_kit(uow, clinic_id=clinic_id, area=area, lines=lines))


@router.put(
    "/kits/defaults/{area}",
    summary="Set the chain's default kit for an area",
    tags=["kits"],
    responses={404: error_response("Unknown item")},
)
async def set_default_kit(
    area: Area, body: Annotated[list[KitLineIn], Field(min_length=1, max_length=20)], uow: UnitOfWork, principal: Admin
) -> KitsOut:
    del principal
    lines = [KitLine(item_id=line.item_id, quantity=line.quantity) for line in body]
    return _kits_out(await service.set_kit(uow, clinic_id=None, area=area, lines=lines))
