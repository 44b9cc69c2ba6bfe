"""The delivery record for staff: an appointment's or a patient's messages with every attempt, and a
clinic's delivery statistics. Texts and addresses are never shown: only what was sent, when, how, and
what came of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from clinic_shared.errors import InvalidInput, NotFound
from clinic_shared.web import ERROR_RESPONSES, error_response
from notifications.adapters.tables import appointments, delivery_attempts, messages
from notifications.api.common import CLINIC, ClinicId, Manager, Sessions, Staff, ensure_known_clinic

router = APIRouter(tags=["messages"], responses=ERROR_RESPONSES)
MAX_STATS_DAYS = 366
MessageStatus = Literal["queued", "sending", "sent", "failed_temporary", "failed_permanent", "cancelled"]


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
    clinic_id: UUID
    appointment_id: UUID | None
    category: Literal["care", "marketing", "alert"]
    channel: Literal["email", "sms"]
    status: MessageStatus
    due_at: datetime
    sent_at: datetime | None
    reason: str | None = Field(description="why it was cancelled or failed (never an address or a text)")
    attempts: list[AttemptOut]


async def _with_attempts(session: AsyncSession, rows: list[Any]) -> list[MessageOut]:
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
            id=row.id, kind=row.kind, clinic_id=row.clinic_id, appointment_id=row.appointment_id,
            category=row.category, channel=row.channel, status=row.status, due_at=row.due_at, sent_at=row.sent_at,
            reason=row.last_error,
            attempts=[AttemptOut.model_validate(a, from_attributes=True) for a in by_message.get(row.id, [])],
        )
        for row in rows
    ]  # fmt: skip


@router.get(
    "/appointments/{appointment_id}/messages",
    summary="An appointment's messages and every delivery attempt",
    responses={404: error_response("Notifications knows no such appointment"), 403: CLINIC[403]},
)
async def appointment_messages(
    appointment_id: Annotated[UUID, Path(description="the appointment's id")], principal: Staff, sessions: Sessions
) -> list[MessageOut]:
    """For staff of the appointment's clinic, in the order they are (or were) due; empty when nothing
    was planned for it."""
    async with sessions() as session:
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
        return await _with_attempts(session, list(rows))


@router.get("/patients/{patient_id}/messages", summary="A patient's messages at the caller's clinics")
async def patient_messages(
    patient_id: Annotated[UUID, Path(description="the patient's id")],
    principal: Staff,
    sessions: Sessions,
    limit: Annotated[int, Query(ge=1, le=500, description="newest first, at most this many")] = 100,
) -> list[MessageOut]:
    """Staff see the messages of the clinics they work at (an admin: all), newest first; empty when
    there are none, whether or not the patient exists (so staff of one clinic cannot probe for patients
    of another). An erased patient's record shows what was sent, never to whom."""
    async with sessions() as session:
        query = select(messages).where(messages.c.patient_id == patient_id)
        if not principal.works_at_every_clinic:
            query = query.where(messages.c.clinic_id.in_(principal.clinic_ids))
        rows = (await session.execute(query.order_by(messages.c.created_at.desc()).limit(limit))).all()
        return await _with_attempts(session, list(rows))


class KindStats(BaseModel):
    kind: str
    channel: Literal["email", "sms"]
    by_status: dict[MessageStatus, int]


class DeliveryStats(BaseModel):
    clinic_id: UUID
    since: datetime
    until: datetime
    total: int
    by_status: dict[MessageStatus, int]
    delivery_rate: float | None = Field(
        description="sent / (sent + failed permanently); null when nothing has finished yet"
    )
    median_seconds_to_send: float | None = Field(description="from due to sent, for messages sent")
    kinds: list[KindStats]


@router.get(
    "/clinics/{clinic_id}/delivery-stats",
    summary="How a clinic's messages fared over a period",
    responses={**CLINIC, 422: error_response("The period is inverted or longer than a year")},
)
async def delivery_stats(
    clinic_id: ClinicId,
    principal: Manager,
    sessions: Sessions,
    since: Annotated[datetime | None, Query(description="from (default: 30 days ago), by time planned")] = None,
    until: Annotated[datetime | None, Query(description="until, exclusive (default: now)")] = None,
) -> DeliveryStats:
    """For managers of the clinic and admins: counts by kind, channel and status of the messages planned
    in the period (managers' alerts included)."""
    end = until or datetime.now(UTC)
    try:
        start = since or end - timedelta(days=30)
    except OverflowError as error:
        raise InvalidInput("the period must lie between the years 1 and 9999", field="until") from error
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("give times with their offset, e.g. 2027-03-01T00:00:00Z", field="since")
    if not start < end or end - start > timedelta(days=MAX_STATS_DAYS):
        raise InvalidInput(f"the period must run forward and last at most {MAX_STATS_DAYS} days", field="until")
    async with sessions() as session:
        await ensure_known_clinic(session, principal, clinic_id)
        window = (messages.c.clinic_id == clinic_id, messages.c.created_at >= start, messages.c.created_at < end)
        rows = (
            await session.execute(
                select(messages.c.kind, messages.c.channel, messages.c.status, func.count())
                .where(*window)
                .group_by(messages.c.kind, messages.c.channel, messages.c.status)
                .order_by(messages.c.kind, messages.c.channel)
            )
        ).all()
        median = await session.scalar(
            select(
                func.percentile_cont(0.5).within_group(func.extract("epoch", messages.c.sent_at - messages.c.due_at))
            ).where(*window, messages.c.status == "sent")
        )
    by_status: dict[str, int] = {}
    kinds: dict[tuple[str, str], dict[str, int]] = {}
    for kind, channel, status, count in rows:
        by_status[status] = by_status.get(status, 0) + count
        kinds.setdefault((kind, channel), {})[status] = count
    finished = by_status.get("sent", 0) + by_status.get("failed_permanent", 0)
    return DeliveryStats(
        clinic_id=clinic_id, since=start, until=end, total=sum(by_status.values()),
        by_status=by_status,
        delivery_rate=round(by_status.get("sent", 0) / finished, 4) if finished else None,
        median_seconds_to_send=round(float(median), 3) if median is not None else None,
        kinds=[KindStats(kind=k, channel=c, by_status=s) for (k, c), s in kinds.items()],
    )  # fmt: skip
