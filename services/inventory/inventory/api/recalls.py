"""Recalling a lot across the chain."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from clinic_shared.web import ERROR_RESPONSES, RequestModel, error_response
from inventory.api.common import (
    Admin,
    UnitOfWork,
)
from inventory.service import recalls

router = APIRouter(responses=ERROR_RESPONSES)


class RecallIn(RequestModel):
    item_id: UUID
    lot_number: str = Field(min_length=1, max_length=20)
    reason_code: str | None = Field(default=None, max_length=64, pattern=r"^[a-z_]+$")


class AffectedOut(BaseModel):
    appointment_id: UUID
    clinic_id: UUID


class RecallOut(BaseModel):
    recall_id: UUID
    quarantined: dict[UUID, Decimal] = Field(description="per clinic, the quantity now quarantined")
    reallocated_appointments: list[UUID] = Field(description="future visits whose kit moved to other lots")
    short_appointments: list[UUID] = Field(description="future visits left short (a shortfall was announced)")
    treated_appointments: list[AffectedOut] = Field(description="completed visits treated with this lot")


@router.post(
    "/recalls",
    status_code=201,
    summary="Recall a lot across the chain",
    tags=["recalls"],
    responses={404: error_response("No clinic holds this lot"), 409: error_response("Recalled before")},
)
async def recall(body: RecallIn, uow: UnitOfWork, principal: Admin) -> RecallOut:
    outcome = await recalls.recall_lot(
        uow, item_id=body.item_id, lot_number=body.lot_number, reason_code=body.reason_code, actor=principal.subject
    )
    return RecallOut(
        recall_id=outcome.recall_id,
        quarantined=outcome.quarantined,
        reallocated_appointments=outcome.reallocated,
        short_appointments=outcome.short,
        treated_appointments=[AffectedOut(appointment_id=a, clinic_id=c) for a, c in outcome.treated],
    )
