"""What notifications' routes share: who may call, sessions, settings and the clinic check."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Path, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clinic_shared.auth import STAFF_ROLES, Principal, Role, require_roles
from clinic_shared.projections.clinics import ClinicNotFound, clinics
from clinic_shared.web import error_response
from notifications.settings import NotificationsSettings

Staff = Annotated[Principal, require_roles(*STAFF_ROLES)]
Manager = Annotated[Principal, require_roles(Role.CLINIC_MANAGER, Role.ADMIN)]
ClinicId = Annotated[UUID, Path(description="the clinic's id")]
CLINIC: dict[int | str, dict[str, Any]] = {
    404: error_response("Unknown clinic"),
    403: error_response("Not one of your clinics"),
}


def sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    return factory


def settings(request: Request) -> NotificationsSettings:
    configured: NotificationsSettings = request.app.state.settings
    return configured


Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(sessions)]
Settings = Annotated[NotificationsSettings, Depends(settings)]


async def ensure_known_clinic(session: AsyncSession, principal: Principal, clinic_id: UUID) -> Any:
    """The clinic, if the caller works there and notifications knows it (403 before 404, so a clinic's
    existence is not told to outsiders)."""
    principal.ensure_clinic(clinic_id)
    clinic = (await session.execute(select(clinics).where(clinics.c.id == clinic_id))).first()
    if clinic is None:
        raise ClinicNotFound("no such clinic", field="clinic_id")
    return clinic
