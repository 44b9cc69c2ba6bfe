"""A visit's life after booking: reschedule and cancel (patient or staff), check in, complete and
no-show (staff). Illegal transitions are 409s."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from pydantic import AwareDatetime, Field

from booking.api.common import AppointmentId, Settings, Strict, UnitOfWork, actor_for, appointment_caller, patients_link
from booking.api.visits import AppointmentOut
from booking.domain.appointments import LotUsed
from booking.domain.areas import Area
from booking.service import lifecycle as service
from clinic_shared.auth import Principal, Role
from clinic_shared.manage_links import ManageGrant
from clinic_shared.web import ERROR_RESPONSES, error_response

router = APIRouter(prefix="/appointments/{appointment_id}", tags=["visits"], responses=ERROR_RESPONSES)
ANSWERS: dict[int | str, dict[str, object]] = {
    404: error_response("Unknown appointment"),
    409: error_response("Not allowed in the visit's status, too late to change online, or the time is taken"),
}

CHANGERS = (Role.FRONT_DESK, Role.CLINIC_MANAGER, Role.ADMIN)
FLOOR = (Role.PRACTITIONER, Role.FRONT_DESK, Role.CLINIC_MANAGER, Role.ADMIN)
TREATERS = (Role.PRACTITIONER, Role.CLINIC_MANAGER, Role.ADMIN)
# Who may call, decided before the body is read: the patient's link or the clinic's staff (changes), the
# clinic's staff only (what happens at the clinic).
Changer = Annotated[ManageGrant | Principal, appointment_caller(*CHANGERS)]
OnTheFloor = Annotated[Principal, appointment_caller(*FLOOR, patient=False)]
Treater = Annotated[Principal, appointment_caller(*TREATERS, patient=False)]


class CancelIn(Strict):
    reason_code: str | None = Field(
        default=None, max_length=64, pattern=r"^[a-z_]+$", description="a code, not free text", examples=["illness"]
    )


class RescheduleIn(Strict):
    starts_at: AwareDatetime
    practitioner_id: UUID | None = None


class LotIn(Strict):
    item_id: UUID
    lot_number: str = Field(min_length=1, max_length=64)


class CompleteIn(Strict):
    needle_depths_mm: dict[Area, Decimal] = Field(
        min_length=1, description="depth used per treated area, in mm", examples=[{"face": "1.0"}]
    )
    lots_used: list[LotIn] = Field(min_length=1, max_length=10, description="cartridge lot(s) used")


@router.post("/cancel", summary="Cancel a visit", responses=ANSWERS)
async def cancel(appointment_id: AppointmentId, body: CancelIn, uow: UnitOfWork, caller: Changer) -> AppointmentOut:
    """Patients through their manage link until the clinic's cut-off; front desk, managers and admins
    at any time. The time is freed at once."""
    appointment = await service.cancel_visit(
        uow,
        appointment_id=appointment_id,
        authorize=partial(actor_for, caller, staff=CHANGERS),
        reason_code=body.reason_code,
        now=datetime.now(UTC),
    )
    return AppointmentOut.of(appointment)


class MovedOut(AppointmentOut):
    manage_token: str | None = Field(
        description="for the patient: a fresh manage link token, valid until 60 days after the new time (the "
        "old one keeps working until its own expiry); null when staff moved the visit"
    )


@router.post("/reschedule", summary="Move a visit", responses=ANSWERS)
async def reschedule(
    appointment_id: AppointmentId, body: RescheduleIn, uow: UnitOfWork, caller: Changer, settings: Settings
) -> MovedOut:
    """Holds the new time and frees the old in one step; same rules as booking for the new time."""
    appointment = await service.reschedule_visit(
        uow,
        appointment_id=appointment_id,
        authorize=partial(actor_for, caller, staff=CHANGERS),
        starts_at=body.starts_at,
        practitioner_id=body.practitioner_id,
        now=datetime.now(UTC),
    )
    return MovedOut(
        **AppointmentOut.of(appointment).model_dump(), manage_token=patients_link(caller, appointment, settings)
    )


@router.post("/check-in", summary="Check the patient in", responses=ANSWERS)
async def check_in(appointment_id: AppointmentId, uow: UnitOfWork, caller: OnTheFloor) -> AppointmentOut:
    appointment = await service.check_in_visit(
        uow, appointment_id=appointment_id, authorize=partial(actor_for, caller, staff=FLOOR), now=datetime.now(UTC)
    )
    return AppointmentOut.of(appointment)


@router.post("/complete", summary="Record the treatment", responses=ANSWERS)
async def complete(appointment_id: AppointmentId, body: CompleteIn, uow: UnitOfWork, caller: Treater) -> AppointmentOut:
    """The practitioner records the needle depth per area (within the clinic's range) and the
    cartridge lot(s) used; inventory turns the reservation into consumption."""
    appointment = await service.complete_visit(
        uow,
        appointment_id=appointment_id,
        authorize=partial(actor_for, caller, staff=TREATERS),
        depths_mm={area: float(depth) for area, depth in body.needle_depths_mm.items()},
        lots_used=tuple(LotUsed(item_id=lot.item_id, lot_number=lot.lot_number) for lot in body.lots_used),
        now=datetime.now(UTC),
    )
    return AppointmentOut.of(appointment)


@router.post("/no-show", summary="The patient did not come", responses=ANSWERS)
async def no_show(appointment_id: AppointmentId, uow: UnitOfWork, caller: OnTheFloor) -> AppointmentOut:
    appointment = await service.mark_no_show(
        uow, appointment_id=appointment_id, authorize=partial(actor_for, caller, staff=FLOOR), now=datetime.now(UTC)
    )
    return AppointmentOut.of(appointment)
