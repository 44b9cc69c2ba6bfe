"""What notifications' routes share: who may call, the unit of work, settings and the clinic check."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Path, Request

from clinic_shared.auth import STAFF_ROLES, Principal, Role, require_clinic_roles, require_roles
from clinic_shared.projections.clinics import ClinicNotFound
from clinic_shared.web import error_response
from notifications.adapters.uow import NotificationsUnitOfWork
from notifications.settings import NotificationsSettings

Staff = Annotated[Principal, require_roles(*STAFF_ROLES)]
Manager = Annotated[Principal, require_roles(Role.CLINIC_MANAGER, Role.ADMIN)]
# For a route under /clinics/{clinic_id}: the role and the clinic, both checked before the body is read.
ClinicManager = Annotated[Principal, require_clinic_roles(Role.CLINIC_MANAGER, Role.ADMIN)]
ClinicId = Annotated[UUID, Path(description="the clinic's id")]
CLINIC: dict[int | str, dict[str, Any]] = {
    404: error_response("Unknown clinic"),
    403: error_response("Not one of your clinics"),
}


def unit_of_work(request: Request) -> NotificationsUnitOfWork:
    return NotificationsUnitOfWork(request.app.state.session_factory, producer=request.app.state.settings.service_name)


def settings(request: Request) -> NotificationsSettings:
    configured: NotificationsSettings = request.app.state.settings
    return configured


UnitOfWork = Annotated[NotificationsUnitOfWork, Depends(unit_of_work)]
Settings = Annotated[NotificationsSettings, Depends(settings)]


async def ensure_known_clinic(uow: NotificationsUnitOfWork, principal: Principal, clinic_id: UUID) -> Any:
    """The clinic, if the caller works there and notifications knows it (403 before 404, so a clinic's
    existence is not told to outsiders)."""
    principal.ensure_clinic(clinic_id)
    clinic = await uow.clinics.get(clinic_id)
    if clinic is None:
        raise ClinicNotFound("no such clinic", field="clinic_id")
    return clinic
