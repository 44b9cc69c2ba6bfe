"""A clinic's messaging settings, for its managers and admins: who receives its supply alerts, and its
timing rules (how long before a visit the reminder goes, and its quiet hours)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from clinic_shared.web import ERROR_RESPONSES, LocalTime, RequestModel
from notifications.api.common import CLINIC, ClinicId, ClinicManager, UnitOfWork, ensure_known_clinic
from notifications.domain.schedule import DEFAULT_POLICY

router = APIRouter(tags=["clinic settings"], responses=ERROR_RESPONSES)


Email = Annotated[str, Field(pattern=r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$", max_length=254)]


class AlertRecipientsIn(RequestModel):
    emails: list[Email] = Field(max_length=20, description="replaces the list; empty: the operations address")


class AlertRecipientsOut(BaseModel):
    clinic_id: UUID
    emails: list[str] = Field(description="empty: alerts go to the operations address (NOTIFICATIONS_OPERATIONS_EMAIL)")
    falls_back_to_operations: bool = Field(description="no one is set, so alerts go to the operations address")


class PolicyIn(RequestModel):
    reminder_lead_hours: int = Field(ge=1, le=336, description="the reminder goes this long before the visit")
    quiet_start: LocalTime = Field(description="clinic's local time; messages that can wait are held from here...")
    quiet_end: LocalTime = Field(description="...until here (may be past midnight)")


class PolicyOut(BaseModel):
    clinic_id: UUID
    reminder_lead_hours: int
    quiet_start: LocalTime
    quiet_end: LocalTime
    is_default: bool
    changed_at: datetime | None


@router.get("/clinics/{clinic_id}/alert-recipients", summary="Who receives a clinic's supply alerts",
            responses=CLINIC)  # fmt: skip
async def get_alert_recipients(clinic_id: ClinicId, principal: ClinicManager, uow: UnitOfWork) -> AlertRecipientsOut:
    async with uow:
        await ensure_known_clinic(uow, principal, clinic_id)
        emails = await uow.clinics.alert_recipients(clinic_id)
    return AlertRecipientsOut(clinic_id=clinic_id, emails=emails, falls_back_to_operations=not emails)


@router.put("/clinics/{clinic_id}/alert-recipients", summary="Set who receives a clinic's supply alerts",
            responses=CLINIC)  # fmt: skip
async def set_alert_recipients(
    clinic_id: ClinicId, body: AlertRecipientsIn, principal: ClinicManager, uow: UnitOfWork
) -> AlertRecipientsOut:
    emails = sorted({str(email).lower() for email in body.emails})
    async with uow:
        await ensure_known_clinic(uow, principal, clinic_id)
        await uow.clinics.replace_alert_recipients(clinic_id, emails)
        await uow.commit()
    return AlertRecipientsOut(clinic_id=clinic_id, emails=emails, falls_back_to_operations=not emails)


@router.get("/clinics/{clinic_id}/messaging-policy", summary="A clinic's reminder lead time and quiet hours",
            responses=CLINIC)  # fmt: skip
async def get_policy(clinic_id: ClinicId, principal: ClinicManager, uow: UnitOfWork) -> PolicyOut:
    async with uow:
        await ensure_known_clinic(uow, principal, clinic_id)
        row = await uow.clinics.policy_row(clinic_id)
    if row is None:
        return PolicyOut(
            clinic_id=clinic_id, reminder_lead_hours=int(DEFAULT_POLICY.reminder_lead.total_seconds() // 3600),
            quiet_start=DEFAULT_POLICY.quiet.start, quiet_end=DEFAULT_POLICY.quiet.end, is_default=True,
            changed_at=None,
        )  # fmt: skip
    return PolicyOut(
        clinic_id=clinic_id, reminder_lead_hours=row.reminder_lead_hours, quiet_start=row.quiet_start,
        quiet_end=row.quiet_end, is_default=False, changed_at=row.changed_at,
    )  # fmt: skip


@router.put("/clinics/{clinic_id}/messaging-policy", summary="Set a clinic's reminder lead time and quiet hours",
            responses=CLINIC)  # fmt: skip
async def set_policy(clinic_id: ClinicId, body: PolicyIn, principal: ClinicManager, uow: UnitOfWork) -> PolicyOut:
    """Applies to messages planned from now on; reminders already planned keep their time."""
    async with uow:
        await ensure_known_clinic(uow, principal, clinic_id)
        await uow.clinics.set_policy(clinic_id, body.model_dump())
        await uow.commit()
    return await get_policy(clinic_id, principal, uow)
