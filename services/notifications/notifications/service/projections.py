"""What notifications learns from booking: who patients are and how to reach them (contact details and
consent only), and the appointments it writes about. A confirmed visit queues its confirmation; a
cancelled one cancels whatever is still queued for it; an erased patient is forgotten at once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from clinic_shared.events import catalogue
from clinic_shared.logging import get_logger
from clinic_shared.messaging import HandlerContext
from notifications.adapters.tables import appointments, messages, recipients

log = get_logger(__name__)
WAITING = ("queued", "failed_temporary")


class RecipientNotKnownYet(RuntimeError):
    """The appointment's event overtook the patient's: retried through the consumer's tiers."""


async def apply_contact(event: catalogue.PatientContactChanged, ctx: HandlerContext) -> None:
    """Keep the newest revision; an erased patient stays erased whatever arrives late."""
    values: dict[str, Any] = {
        "patient_id": event.patient_id,
        "revision": event.revision,
        "display_name": event.display_name,
        "email": event.email,
        "phone": event.phone,
        "preferred_channel": event.preferred_channel,
        "locale": event.locale,
        "care_messages_consent": event.care_messages_consent,
        "marketing_consent": event.marketing_consent,
    }
    statement = insert(recipients).values(**values)
    await ctx.session.execute(
        statement.on_conflict_do_update(
            index_elements=[recipients.c.patient_id],
            set_={k: statement.excluded[k] for k in values if k != "patient_id"},
            where=(recipients.c.revision < statement.excluded.revision) & recipients.c.erased_at.is_(None),
        )
    )


async def forget_patient(event: catalogue.PatientErased, ctx: HandlerContext) -> None:
    statement = insert(recipients).values(
        patient_id=event.patient_id, revision=0, display_name="", preferred_channel="email", locale="en",
        care_messages_consent=False, marketing_consent=False, erased_at=event.erased_at,
    )  # fmt: skip
    await ctx.session.execute(
        statement.on_conflict_do_update(
            index_elements=[recipients.c.patient_id],
            set_={
                "display_name": "", "email": None, "phone": None, "care_messages_consent": False,
                "marketing_consent": False, "erased_at": event.erased_at,
            },
        )
    )  # fmt: skip
    await ctx.session.execute(
        update(messages)
        .where(messages.c.patient_id == event.patient_id, messages.c.status.in_(WAITING))
        .values(status="cancelled", last_error="patient erased")
    )


async def _project_appointment(
    ctx: HandlerContext, *, event: Any, starts_at: datetime, ends_at: datetime, areas: list[str], status: str
) -> None:
    values = {
        "appointment_id": event.appointment_id,
        "clinic_id": event.clinic_id,
        "patient_id": event.patient_id,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "areas": areas,
        "status": status,
    }
    statement = insert(appointments).values(**values)
    await ctx.session.execute(
        statement.on_conflict_do_update(
            index_elements=[appointments.c.appointment_id],
            set_={k: statement.excluded[k] for k in values if k != "appointment_id"},
            where=appointments.c.status != "cancelled",  # a late event never revives a cancelled visit
        )
    )


async def confirm(event: catalogue.AppointmentConfirmed, ctx: HandlerContext) -> None:
    """The visit is confirmed: project it and queue its confirmation, once, if the patient wants care
    messages."""
    recipient = (
        await ctx.session.execute(select(recipients).where(recipients.c.patient_id == event.patient_id))
    ).first()
    if recipient is None:
        raise RecipientNotKnownYet(f"no contact details for patient {event.patient_id} yet")
    await _project_appointment(
        ctx, event=event, starts_at=event.starts_at, ends_at=event.ends_at, areas=list(event.areas), status="confirmed"
    )
    if recipient.erased_at is not None or not recipient.care_messages_consent:
        log.info("confirmation_not_queued", appointment_id=str(event.appointment_id), reason="no consent")
        return
    channel = "email" if recipient.email else "sms"
    await ctx.session.execute(
        _confirmation(event, status="queued", channel=channel).on_conflict_do_nothing(
            index_elements=[messages.c.dedupe_key]
        )
    )


async def cancel(event: catalogue.AppointmentCancelled, ctx: HandlerContext) -> None:
    """Nothing more is sent for a cancelled visit (its own cancellation notice is a later slice). The
    confirmation's place is taken even when its event has not arrived yet (a retry can overtake), so a
    late confirmation finds it cancelled and sends nothing."""
    await ctx.session.execute(
        update(appointments).where(appointments.c.appointment_id == event.appointment_id).values(status="cancelled")
    )
    await ctx.session.execute(
        update(messages)
        .where(messages.c.appointment_id == event.appointment_id, messages.c.status.in_(WAITING))
        .values(status="cancelled", last_error="appointment cancelled")
    )
    await ctx.session.execute(
        _confirmation(event, status="cancelled").on_conflict_do_nothing(index_elements=[messages.c.dedupe_key])
    )


async def move(event: catalogue.AppointmentRescheduled, ctx: HandlerContext) -> None:
    """A message still waiting (a confirmation held up by an outage) goes out with the new time."""
    await ctx.session.execute(
        update(appointments)
        .where(appointments.c.appointment_id == event.appointment_id)
        .values(starts_at=event.starts_at, ends_at=event.ends_at, areas=list(event.areas))
    )


def _confirmation(event: Any, *, status: str, channel: str = "email") -> Any:
    return insert(messages).values(
        id=uuid.uuid4(),
        dedupe_key=f"{event.patient_id}:{event.appointment_id}:confirmation",
        patient_id=event.patient_id,
        appointment_id=event.appointment_id,
        clinic_id=event.clinic_id,
        kind="confirmation",
        channel=channel,
        status=status,
        due_at=func.now(),
        last_error="appointment cancelled" if status == "cancelled" else None,
    )
