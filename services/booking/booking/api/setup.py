"""Clinic set-up routes for admins and the clinic's managers: rooms, devices, closures, treatments."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Self
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, Field, StrictInt

from booking.api.common import ClinicId, ClinicManager, Strict, UnitOfWork
from booking.domain.areas import Area
from booking.domain.resources import Closure, Resource
from booking.domain.treatments import Treatment
from booking.service import setup as service
from clinic_shared.errors import NotFound
from clinic_shared.web import ERROR_RESPONSES, SaneDate, error_response

router = APIRouter(prefix="/clinics/{clinic_id}", tags=["clinic set-up"], responses=ERROR_RESPONSES)
UNKNOWN_CLINIC: dict[int | str, dict[str, Any]] = {404: error_response("Unknown clinic")}


class ResourceIn(Strict):
    name: str = Field(min_length=1, max_length=80, examples=["Room 2"])
    model: str | None = Field(default=None, max_length=80, description="devices only", examples=["Dermapen 4"])


class ResourceOut(BaseModel):
    id: UUID
    name: str
    model: str | None
    active: bool

    @classmethod
    def of(cls, resource: Resource) -> Self:
        return cls(id=resource.id, name=resource.name, model=resource.model, active=resource.active)


@router.post(
    "/rooms",
    status_code=status.HTTP_201_CREATED,
    summary="Add a treatment room",
    responses={**UNKNOWN_CLINIC, 409: error_response("Name taken")},
)
async def add_room(clinic_id: ClinicId, body: ResourceIn, uow: UnitOfWork, principal: ClinicManager) -> ResourceOut:
    """A room holds one visit at a time, from numbing to the end of cleaning."""
    return ResourceOut.of(await service.add_resource(uow, clinic_id=clinic_id, kind="room", name=body.name))


@router.post(
    "/devices",
    status_code=status.HTTP_201_CREATED,
    summary="Add a microneedling device",
    responses={**UNKNOWN_CLINIC, 409: error_response("Name taken")},
)
async def add_device(clinic_id: ClinicId, body: ResourceIn, uow: UnitOfWork, principal: ClinicManager) -> ResourceOut:
    """A device holds one visit at a time, from the procedure to the end of cleaning."""
    resource = await service.add_resource(uow, clinic_id=clinic_id, kind="device", name=body.name, model=body.model)
    return ResourceOut.of(resource)


@router.get("/rooms", summary="The clinic's rooms", responses=UNKNOWN_CLINIC)
async def list_rooms(clinic_id: ClinicId, uow: UnitOfWork, principal: ClinicManager) -> list[ResourceOut]:
    return [ResourceOut.of(r) for r in await service.list_resources(uow, clinic_id=clinic_id, kind="room")]


@router.get("/devices", summary="The clinic's devices", responses=UNKNOWN_CLINIC)
async def list_devices(clinic_id: ClinicId, uow: UnitOfWork, principal: ClinicManager) -> list[ResourceOut]:
    return [ResourceOut.of(r) for r in await service.list_resources(uow, clinic_id=clinic_id, kind="device")]


class ClosureIn(Strict):
    first_day: SaneDate
    last_day: SaneDate
    reason: str | None = Field(default=None, max_length=120, examples=["King's Day"])


class ClosureOut(ClosureIn):
    id: UUID

    @classmethod
    def of(cls, closure: Closure) -> Self:
        return cls(id=closure.id, first_day=closure.first_day, last_day=closure.last_day, reason=closure.reason)


@router.post("/closures", status_code=status.HTTP_201_CREATED, summary="Close the clinic", responses=UNKNOWN_CLINIC)
async def close(clinic_id: ClinicId, body: ClosureIn, uow: UnitOfWork, principal: ClinicManager) -> ClosureOut:
    """No visit can be booked on these days (inclusive, clinic local dates)."""
    closure = await service.close_clinic(
        uow, clinic_id=clinic_id, first_day=body.first_day, last_day=body.last_day, reason=body.reason
    )
    return ClosureOut.of(closure)


@router.get("/closures", summary="Closures from a day on", responses=UNKNOWN_CLINIC)
async def closures(
    clinic_id: ClinicId,
    uow: UnitOfWork,
    principal: ClinicManager,
    from_day: Annotated[date, Query(alias="from", description="first day of interest")] = date.min,
) -> list[ClosureOut]:
    return [ClosureOut.of(c) for c in await service.list_closures(uow, clinic_id=clinic_id, from_day=from_day)]


@router.delete(
    "/closures/{closure_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a closure",
    responses={404: error_response("Unknown closure")},
)
async def reopen(
    clinic_id: ClinicId, closure_id: Annotated[UUID, Path()], uow: UnitOfWork, principal: ClinicManager
) -> Response:
    if not await service.reopen_clinic(uow, clinic_id=clinic_id, closure_id=closure_id):
        raise NotFound("no such closure", field="closure_id")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class TreatmentIn(Strict):
    name: str = Field(min_length=1, max_length=120, examples=["Microneedling, face and neck"])
    numbing_minutes: StrictInt = Field(ge=0, le=120, examples=[30])
    procedure_minutes: dict[Area, StrictInt] = Field(
        min_length=1, description="minutes per area offered", examples=[{"face": 30, "neck": 15}]
    )
    turnover_minutes: StrictInt = Field(ge=0, le=120, examples=[15])


class TreatmentOut(TreatmentIn):
    id: UUID

    @classmethod
    def of(cls, treatment: Treatment) -> Self:
        return cls(
            id=treatment.id,
            name=treatment.name,
            numbing_minutes=treatment.numbing_minutes,
            procedure_minutes=dict(treatment.procedure_minutes),
            turnover_minutes=treatment.turnover_minutes,
        )


@router.post("/treatments", status_code=status.HTTP_201_CREATED, summary="Offer a treatment", responses=UNKNOWN_CLINIC)
async def offer(clinic_id: ClinicId, body: TreatmentIn, uow: UnitOfWork, principal: ClinicManager) -> TreatmentOut:
    """Microneedling of the areas given, with the length of each phase of a visit."""
    treatment = await service.offer_treatment(
        uow,
        clinic_id=clinic_id,
        name=body.name,
        numbing_minutes=body.numbing_minutes,
        procedure_minutes=body.procedure_minutes,
        turnover_minutes=body.turnover_minutes,
    )
    return TreatmentOut.of(treatment)


@router.get("/treatments", summary="Treatments a clinic offers", responses=UNKNOWN_CLINIC)
async def treatments(clinic_id: ClinicId, uow: UnitOfWork) -> list[TreatmentOut]:
    """Public: patients choose a treatment here."""
    return [TreatmentOut.of(t) for t in await service.list_treatments(uow, clinic_id=clinic_id)]
