"""Opened tubes of numbing cream, tracked by the grams left."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Self
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from clinic_shared.web import ERROR_RESPONSES, RequestModel, error_response
from inventory.api.common import CLINIC, ClinicId, ClinicStaff, UnitOfWork
from inventory.domain.tubes import OpenedTube
from inventory.service import tubes

router = APIRouter(responses=ERROR_RESPONSES)


class OpenedTubeOut(BaseModel):
    id: UUID
    lot_id: UUID
    lot_number: str
    item_id: UUID
    grams_left: Decimal
    opened_at: datetime
    finished_at: datetime | None
    lot_recalled: bool = Field(description="its lot was recalled since: put the tube aside")

    @classmethod
    def of(cls, tube: OpenedTube) -> Self:
        return cls.model_validate(tube, from_attributes=True)


class TubeUseIn(RequestModel):
    grams: Annotated[Decimal, Field(gt=0, le=1000, max_digits=8, decimal_places=2)]


@router.post(
    "/clinics/{clinic_id}/lots/{lot_id}/open-tube",
    status_code=201,
    summary="Open a tube of cream",
    tags=["managing stock"],
    responses={**CLINIC, 409: error_response("Every tube of the lot is reserved")},
)
async def open_tube(clinic_id: ClinicId, lot_id: UUID, uow: UnitOfWork, principal: ClinicStaff) -> OpenedTubeOut:
    """One tube leaves the lot's stock and is tracked by the grams left in it (numbing cream counted
    in tubes)."""
    tube = await tubes.open_tube(
        uow, clinic_id=clinic_id, lot_id=lot_id, actor=principal.subject, now=datetime.now(UTC)
    )
    return OpenedTubeOut.of(tube)


@router.post("/clinics/{clinic_id}/opened-tubes/{tube_id}/use", summary="Take grams from an opened tube",
             tags=["managing stock"], responses={**CLINIC, 409: error_response("Not that much left")})  # fmt: skip
async def use_tube(
    clinic_id: ClinicId, tube_id: UUID, body: TubeUseIn, uow: UnitOfWork, principal: ClinicStaff
) -> OpenedTubeOut:
    return OpenedTubeOut.of(await tubes.use(uow, clinic_id=clinic_id, tube_id=tube_id, grams=body.grams))


@router.get("/clinics/{clinic_id}/opened-tubes", summary="Opened tubes and the grams left",
            tags=["managing stock"], responses=CLINIC)  # fmt: skip
async def opened(clinic_id: ClinicId, uow: UnitOfWork, principal: ClinicStaff) -> list[OpenedTubeOut]:
    return [OpenedTubeOut.of(tube) for tube in await tubes.open_tubes(uow, clinic_id=clinic_id)]
