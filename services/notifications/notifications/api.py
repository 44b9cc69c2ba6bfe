"""Notifications' HTTP API: the messages of an appointment and their delivery record, for staff of
its clinic."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel
from sqlalchemy import select

from clinic_shared.auth import STAFF_ROLES, Principal, require_roles
from clinic_shared.errors import NotFound
from clinic_shared.projections.clinics import clinic_projection_router
from clinic_shared.web import ERROR_RESPONSES, error_response
from notifications.adapters.tables import appointments, delivery_attempts, messages

router = APIRouter(tags=["messages"], responses=ERROR_RESPONSES)
Staff = Annotated[Principal, require_roles(*STAFF_ROLES)]


class AppointmentNotKnown(NotFound):
    code = "appointment_not_found"


class AttemptOut(BaseModel):
    attempted_at: datetime
    channel: Literal["email", "sms"]
    provider: str
    provider_message_id: str | None
    status: Literal["sent", "failed_temporary", "failed_permanent"]
    error: str | None


class MessageOut(BaseModel):
    id: UUID
    kind: str
    channel: Literal["email", "sms"]
    status: Literal["queued", "sending", "sent", "failed_temporary", "failed_permanent", "cancelled"]
    due_at: datetime
    sent_at: datetime | None
    attempts: list[AttemptOut]


@router.get(
    "/appointments/{appointment_id}/messages",
    summary="An appointment's messages and every delivery attempt",
    responses={404: error_response("Notifications knows no such appointment")},
)
async def appointment_messages(
    appointment_id: Annotated[UUID, Path(description="the appointment's id")], request: Request, principal: Staff
) -> list[MessageOut]:
    """For staff of the appointment's clinic; empty when nothing was sent for it (no consent, say).
    Texts and addresses are not shown: only what was sent when, how, and what came of it."""
    async with request.app.state.session_factory() as session:
        clinic_id = await session.scalar(
            select(appointments.c.clinic_id).where(appointments.c.appointment_id == appointment_id)
        )
        rows = (
            await session.execute(
                select(messages)
                .where(messages.c.appointment_id == appointment_id)
                .order_by(messages.c.due_at, messages.c.created_at)
            )
        ).all()
        clinic_id = clinic_id or (rows[0].clinic_id if rows else None)
        if clinic_id is None:
            raise AppointmentNotKnown("notifications knows no such appointment", field="appointment_id")
        principal.ensure_clinic(clinic_id)
        attempts = (
            await session.execute(
                select(delivery_attempts)
                .where(delivery_attempts.c.message_id.in_([row.id for row in rows]))
                .order_by(delivery_attempts.c.id)
            )
        ).all()
    by_message: dict[UUID, list[Any]] = {}
    for attempt in attempts:
        by_message.setdefault(attempt.message_id, []).append(attempt)
    return [
        MessageOut(
            id=row.id,
            kind=row.kind,
            channel=row.channel,
            status=row.status,
            due_at=row.due_at,
            sent_at=row.sent_at,
            attempts=[AttemptOut.model_validate(a, from_attributes=True) for a in by_message.get(row.id, [])],
        )
        for row in rows
    ]


ROUTERS = (clinic_projection_router(), router)
