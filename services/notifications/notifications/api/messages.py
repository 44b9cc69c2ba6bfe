"""The delivery record for staff: an appointment's or a patient's messages with every attempt, and a
clinic's delivery statistics. Texts and addresses are never shown: only what was sent, when, how, and
what came of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from clinic_shared.auth import Forbidden
from clinic_shared.errors import InvalidInput, NotFound
from clinic_shared.web import ERROR_RESPONSES, SaneDatetime, error_response
from notifications.adapters.uow import NotificationsUnitOfWork
from notifications.api.common import CLINIC, ClinicId, ClinicManager, Staff, UnitOfWork, ensure_known_clinic

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


async def _with_attempts(uow: NotificationsUnitOfWork, rows: list[Any]) -> list[MessageOut]:
    attempts = await uow.messages.attempts_of([row.id for row in rows])
    return [
        MessageOut(
            id=row.id, kind=row.kind, clinic_id=row.clinic_id, appointment_id=row.appointment_id,
            category=row.category, channel=row.channel, status=row.status, due_at=row.due_at, sent_at=row.sent_at,
            reason=row.last_error,
            attempts=[AttemptOut.model_validate(a, from_attributes=True) for a in attempts.get(row.id, [])],
        )
        for row in rows
    ]  # fmt: skip


@router.get(
    "/appointments/{appointment_id}/messages",
    summary="An appointment's messages and every delivery attempt",
    responses={404: error_response("Notifications knows no such appointment"), 403: CLINIC[403]},
)
async def appointment_messages(
    appointment_id: Annotated[UUID, Path(description="the appointment's id")], principal: Staff, uow: UnitOfWork
) -> list[MessageOut]:
    """For staff of the appointment's clinic, in the order they are (or were) due; empty when nothing
    was planned for it."""
    async with uow:
        clinic_id = await uow.visits.clinic_of(appointment_id)
        if clinic_id is None:
            raise AppointmentNotKnown("notifications knows no such appointment", field="appointment_id")
        principal.ensure_clinic(clinic_id)
        return await _with_attempts(uow, await uow.messages.of_appointment(appointment_id))


@router.get(
    "/patients/{patient_id}/messages",
    summary="A patient's messages at the caller's clinics",
    responses={403: error_response("The patient has no visit at your clinics (or is not known)")},
)
async def patient_messages(
    patient_id: Annotated[UUID, Path(description="the patient's id")],
    principal: Staff,
    uow: UnitOfWork,
    limit: Annotated[int, Query(ge=1, le=500, description="newest first, at most this many")] = 100,
) -> list[MessageOut]:
    """For staff of a clinic the patient has a visit at (admins: any patient): that clinic's messages,
    newest first. Staff of other clinics get 403 whether or not the patient exists, so they cannot
    probe for another clinic's patients. An erased patient's record shows what was sent, never to whom."""
    async with uow:
        clinics = None if principal.works_at_every_clinic else principal.clinic_ids
        if clinics is not None and not await uow.visits.clinics_of_patient(patient_id) & clinics:
            raise Forbidden("this patient has no visit at your clinics", field="patient_id")
        return await _with_attempts(uow, await uow.messages.of_patient(patient_id, clinic_ids=clinics, limit=limit))


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
    principal: ClinicManager,
    uow: UnitOfWork,
    since: Annotated[SaneDatetime | None, Query(description="from (default: 30 days ago), by time planned")] = None,
    until: Annotated[SaneDatetime | None, Query(description="until, exclusive (default: now)")] = None,
) -> DeliveryStats:
    """For managers of the clinic and admins: counts by kind, channel and status of the messages planned
    in the period (managers' alerts included)."""
    end = (until or datetime.now(UTC)).astimezone(UTC)
    start = (since or end - timedelta(days=30)).astimezone(UTC)
    if not start < end or end - start > timedelta(days=MAX_STATS_DAYS):
        raise InvalidInput(f"the period must run forward and last at most {MAX_STATS_DAYS} days", field="until")
    async with uow:
        await ensure_known_clinic(uow, principal, clinic_id)
        rows, median = await uow.messages.counts(clinic_id=clinic_id, since=start, until=end)
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
        median_seconds_to_send=round(median, 3) if median is not None else None,
        kinds=[KindStats(kind=k, channel=c, by_status=s) for (k, c), s in kinds.items()],
    )  # fmt: skip
