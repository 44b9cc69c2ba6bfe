"""What inventory's routes share: who may call, the unit of work, the settings and the types."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Path, Request
from pydantic import Field

from clinic_shared.auth import STAFF_ROLES, Principal, Role, require_clinic_roles, require_roles
from clinic_shared.web import error_response
from inventory.adapters.uow import InventoryUnitOfWork
from inventory.settings import InventorySettings

Admin = Annotated[Principal, require_roles(Role.ADMIN)]
Manager = Annotated[Principal, require_roles(Role.CLINIC_MANAGER, Role.ADMIN)]
Staff = Annotated[Principal, require_roles(*STAFF_ROLES)]
ClinicId = Annotated[UUID, Path(description="the clinic's id")]


# For a route under /clinics/{clinic_id}: the role, and the clinic in the caller's scope, checked before
# the body is read (a manager of another clinic gets 403, whatever the body).
ClinicManager = Annotated[Principal, require_clinic_roles(Role.CLINIC_MANAGER, Role.ADMIN)]
ClinicStaff = Annotated[Principal, require_clinic_roles(*STAFF_ROLES)]
CLINIC: dict[int | str, dict[str, Any]] = {
    404: error_response("Unknown clinic"),
    403: error_response("Not one of your clinics"),
}
Quantity = Annotated[Decimal, Field(gt=0, le=Decimal("1000000"), max_digits=12, decimal_places=3)]


def unit_of_work(request: Request) -> InventoryUnitOfWork:
    return InventoryUnitOfWork(request.app.state.session_factory, producer=request.app.state.settings.service_name)


def settings(request: Request) -> InventorySettings:
    configured: InventorySettings = request.app.state.settings
    return configured


UnitOfWork = Annotated[InventoryUnitOfWork, Depends(unit_of_work)]
Settings = Annotated[InventorySettings, Depends(settings)]
