"""Managing stock by hand: adjustments, counts and transfers between clinics."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Self
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from clinic_shared.pagination import Page, PageParams
from clinic_shared.web import ERROR_RESPONSES, RequestModel, error_response
from inventory.adapters.movements import Transfer
from inventory.api.common import CLINIC, ClinicId, ClinicManager, Quantity, UnitOfWork
from inventory.api.stock import LotOut
from inventory.domain.stock import (
    AdjustmentReason,
)
from inventory.service import movements

router = APIRouter(responses=ERROR_RESPONSES)


# --- managing stock --------------------------------------------------------------------------------


class AdjustmentIn(RequestModel):
    lot_id: UUID
    change: Annotated[
        Decimal, Field(ge=Decimal("-1000000"), le=Decimal("1000000"), max_digits=12, decimal_places=3)
    ] = Field(description="signed: negative takes stock away", examples=["-1"])
    reason: AdjustmentReason


@router.post(
    "/clinics/{clinic_id}/adjustments",
    summary="Adjust a lot's stock",
    tags=["managing stock"],
    responses={**CLINIC, 409: error_response("Would go below what is reserved for booked visits")},
)
async def adjust(clinic_id: ClinicId, body: AdjustmentIn, uow: UnitOfWork, principal: ClinicManager) -> LotOut:
    """Damaged packaging, dropped or contaminated, opened but unused, expired disposal, count
    correction. Never below zero (422) or below what is reserved (409)."""
    lot = await movements.adjust(
        uow, clinic_id=clinic_id, lot_id=body.lot_id, change=body.change, reason=body.reason, actor=principal.subject
    )
    return LotOut.of(lot)


class CountLineIn(RequestModel):
    lot_id: UUID
    counted: Annotated[Decimal, Field(ge=0, le=Decimal("1000000"), max_digits=12, decimal_places=3)]


class CountIn(RequestModel):
    lines: list[CountLineIn] = Field(min_length=1, max_length=500)


@router.post("/clinics/{clinic_id}/counts", summary="Submit a stock count", tags=["managing stock"],
             responses={**CLINIC, 409: error_response("A count below what is reserved")})  # fmt: skip
async def submit_count(clinic_id: ClinicId, body: CountIn, uow: UnitOfWork, principal: ClinicManager) -> list[LotOut]:
    """Counted quantities per lot; every variance becomes a `count_correction` in the ledger. All
    lines or none."""
    lots = await movements.count(
        uow,
        clinic_id=clinic_id,
        lines=[movements.Counted(lot_id=line.lot_id, counted=line.counted) for line in body.lines],
        actor=principal.subject,
    )
    return [LotOut.of(lot) for lot in lots]


class TransferIn(RequestModel):
    to_clinic_id: UUID
    lot_id: UUID
    quantity: Quantity


class TransferOut(BaseModel):
    id: UUID
    from_clinic_id: UUID
    to_clinic_id: UUID
    item_id: UUID
    lot_number: str
    expires_on: date
    quantity: Decimal
    status: Literal["in_transit", "received"]
    sent_by: str
    sent_at: datetime
    received_by: str | None
    received_at: datetime | None

    @classmethod
    def of(cls, transfer: Transfer) -> Self:
        return cls.model_validate(transfer, from_attributes=True)


@router.post(
    "/clinics/{clinic_id}/transfers",
    status_code=201,
    summary="Send stock to another clinic",
    tags=["managing stock"],
    responses={**CLINIC, 409: error_response("Would go below what is reserved for booked visits")},
)
async def send_transfer(
    clinic_id: ClinicId, body: TransferIn, uow: UnitOfWork, principal: ClinicManager
) -> TransferOut:
    """Leaves this clinic's stock now; in transit until the other clinic receives it."""
    transfer = await movements.send_transfer(
        uow, from_clinic_id=clinic_id, to_clinic_id=body.to_clinic_id, lot_id=body.lot_id, quantity=body.quantity,
        actor=principal.subject,
    )  # fmt: skip
    return TransferOut.of(transfer)


@router.post("/clinics/{clinic_id}/transfers/{transfer_id}/receive", summary="Receive a transfer",
             tags=["managing stock"], responses={**CLINIC, 409: error_response("Received already")})  # fmt: skip
async def receive_transfer(clinic_id: ClinicId, transfer_id: UUID, uow: UnitOfWork, principal: ClinicManager) -> LotOut:
    lot = await movements.receive_transfer(uow, transfer_id=transfer_id, clinic_id=clinic_id, actor=principal.subject)
    return LotOut.of(lot)


@router.get("/clinics/{clinic_id}/transfers", summary="Transfers from and to the clinic", tags=["managing stock"],
            responses=CLINIC)  # fmt: skip
async def clinic_transfers(
    clinic_id: ClinicId,
    uow: UnitOfWork,
    principal: ClinicManager,
    page: PageParams,
    status: Annotated[Literal["in_transit", "received"] | None, Query()] = None,
) -> Page[TransferOut]:
    transfers = await movements.list_transfers(uow, clinic_id=clinic_id, status=status, offset=page.offset,
                                               limit=page.fetch)  # fmt: skip
    return Page[TransferOut].of([TransferOut.of(t) for t in transfers], page)
