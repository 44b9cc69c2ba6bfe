"""Booking's half of the appointment saga: inventory's answer confirms or rejects a requested visit,
and a request left unanswered too long is rejected, which frees its time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from booking.adapters.appointments import AppointmentRepository
from booking.adapters.uow import BookingUnitOfWork
from booking.domain.appointments import Appointment, AppointmentNotFound, RejectionReason
from booking.settings import BookingSettings
from clinic_shared.events import catalogue
from clinic_shared.logging import get_logger
from clinic_shared.messaging import HandlerContext, PermanentFailure
from clinic_shared.outbox import Outbox
from clinic_shared.runtime import SessionFactory

log = get_logger(__name__)


async def _appointment(appointments: AppointmentRepository, appointment_id: UUID) -> Appointment:
    try:
        return await appointments.get(appointment_id, for_update=True)
    except AppointmentNotFound as error:
        # Booking made every appointment inventory answers for; waiting will not make one appear.
        raise PermanentFailure(f"no appointment {appointment_id}") from error


async def confirm_when_supplied(event: catalogue.SuppliesReserved, ctx: HandlerContext) -> None:
    appointments = AppointmentRepository(ctx.session)
    appointment = await _appointment(appointments, event.appointment_id)
    if not appointment.awaiting_supplies:
        # Already decided (e.g. timed out): inventory releases its reservation on our rejection.
        log.info("supplies_answer_after_decision", appointment_id=str(appointment.id), status=appointment.status)
        return
    confirmed = appointment.confirmed()
    if await appointments.decide(confirmed, expected="requested"):
        ctx.outbox.add(
            catalogue.AppointmentConfirmed(
                appointment_id=confirmed.id,
                clinic_id=confirmed.clinic_id,
                patient_id=confirmed.patient_id,
                starts_at=confirmed.starts_at,
                ends_at=confirmed.ends_at,
                areas=list(confirmed.areas),
                practitioner_id=confirmed.allocation.practitioner_id,
            )
        )


async def reject_when_unsupplied(event: catalogue.SuppliesUnavailable, ctx: HandlerContext) -> None:
    appointments = AppointmentRepository(ctx.session)
    appointment = await _appointment(appointments, event.appointment_id)
    if appointment.awaiting_supplies:
        await _reject(appointments, ctx.outbox, appointment, reason="supplies_unavailable")


async def _reject(
    appointments: AppointmentRepository, outbox: Outbox, appointment: Appointment, *, reason: RejectionReason
) -> None:
    rejected = appointment.rejected(reason)
    if await appointments.decide(rejected, expected="requested"):
        outbox.add(
            catalogue.AppointmentRejected(
                appointment_id=rejected.id, clinic_id=rejected.clinic_id, patient_id=rejected.patient_id, reason=reason
            )
        )


async def reject_unanswered(session_factory: SessionFactory, settings: BookingSettings) -> None:
    """Worker job: reject requests inventory has not answered within the configured timeout."""
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.supplies_timeout_s)
    async with BookingUnitOfWork(session_factory, producer=settings.service_name) as uow:
        stale = await uow.appointments.claim_unanswered(requested_before=cutoff)
        for appointment in stale:
            await _reject(uow.appointments, uow.outbox, appointment, reason="supplies_timeout")
        await uow.commit()
    if stale:
        log.warning("requests_timed_out", count=len(stale))
