"""A clinic's messaging settings, for its managers and admins: who receives its supply alerts, and its
timing rules (how long before a visit the reminder goes, and its quiet hours)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from clinic_shared.web import ERROR_RESPONSES, RequestModel
from notifications.adapters.tables import alert_recipients, clinic_policies
from notifications.api.common import CLINIC, ClinicId, Manager, Sessions, ensure_known_clinic
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
    quiet_start: time = Field(description="clinic's local time; messages that can wait are held from here...")
    quiet_end: time = Field(description="...until here (may be past midnight)")


class PolicyOut(BaseModel):
    clinic_id: UUID
    reminder_lead_hours: int
    quiet_start: time
    quiet_end: time
    is_default: bool
    changed_at: datetime | None


@router.get("/clinics/{clinic_id}/alert-recipients", summary="Who receives a clinic's supply alerts",
            responses=CLINIC)  # fmt: skip
async def get_alert_recipients(clinic_id: ClinicId, principal: Manager, sessions: Sessions) -> AlertRecipientsOut:
    async with sessions() as session:
        await ensure_known_clinic(session, principal, clinic_id)
        emails = sorted(
            await session.scalars(select(alert_recipients.c.email).where(alert_recipients.c.clinic_id == clinic_id))
        )
    return AlertRecipientsOut(clinic_id=clinic_id, emails=emails, falls_back_to_operations=not emails)


@router.put("/clinics/{clinic_id}/alert-recipients", summary="Set who receives a clinic's supply alerts",
            responses=CLINIC)  # fmt: skip
async def set_alert_recipients(
    clinic_id: ClinicId, body: AlertRecipientsIn, principal: Manager, sessions: Sessions
) -> AlertRecipientsOut:
    emails = sorted({str(email).lower() for email in body.emails})
    async with sessions() as session, session.begin():
        await ensure_known_clinic(session, principal, clinic_id)
        await session.execute(delete(alert_recipients).where(alert_recipients.c.clinic_id == clinic_id))
        if emails:
            await session.execute(insert(alert_recipients), [{"clinic_id": clinic_id, "email": e} for e in emails])
    return AlertRecipientsOut(clinic_id=clinic_id, emails=emails, falls_back_to_operations=not emails)


@router.get("/clinics/{clinic_id}/messaging-policy", summary="A clinic's reminder lead time and quiet hours",
            responses=CLINIC)  # fmt: skip
async def get_policy(clinic_id: ClinicId, principal: Manager, sessions: Sessions) -> PolicyOut:
    async with sessions() as session:
        await ensure_known_clinic(session, principal, clinic_id)
        row = (await session.execute(select(clinic_policies).where(clinic_policies.c.clinic_id == clinic_id))).first()
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
async def set_policy(clinic_id: ClinicId, body: PolicyIn, principal: Manager, sessions: Sessions) -> PolicyOut:
    """Applies to messages planned from now on; reminders already planned keep their time."""
    values = body.model_dump()
    async with sessions() as session, session.begin():
        await ensure_known_clinic(session, principal, clinic_id)
        statement = insert(clinic_policies).values(clinic_id=clinic_id, **values)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[clinic_policies.c.clinic_id],
                set_={**values, "changed_at": statement.excluded.changed_at},
            )
        )
    return await get_policy(clinic_id, principal, sessions)
