"""What notifications knows from booking: who patients are and how to reach them (contact details and
consent only), and the visits it writes about (times, areas, status; no health data).

Events may arrive late, twice, or out of order (a consumer handles several deliveries at once, and
retries overtake), so a visit's status only moves forward (a late `confirmed` never revives a
cancelled visit) and its times come only from an event newer than the one that set them. A visit
whose end arrives before its request (cancelled, say) is kept without times, so the request, when it
comes, cannot bring it back."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from clinic_shared.events import catalogue
from clinic_shared.messaging import HandlerContext
from notifications.adapters.tables import appointments, messages, preferences, recipients

WAITING = ("queued", "failed_temporary")
FINAL = ("completed", "cancelled", "rejected", "no_show")


class NotKnownYet(RuntimeError):
    """An event overtook the one it depends on (a visit's before its patient's): the consumer retries it
    with growing delays, and after its last try it lands in the error queue with this reason."""


def _rank(status: Any) -> ColumnElement[int]:
    return case(
        (status == "requested", 0),
        (status == "confirmed", 1),
        (status == "checked_in", 2),
        else_=3,
    )


async def apply_contact(event: catalogue.PatientContactChanged, ctx: HandlerContext) -> None:
    """Keep the newest revision; an erased patient stays erased whatever arrives late. When booking's
    consent changes, the time is kept: a patient's older choice through a link gives way to it."""
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
    statement = insert(recipients).values(**values, consent_changed_at=ctx.envelope.occurred_at)
    excluded = statement.excluded
    consent_changed = (recipients.c.care_messages_consent != excluded.care_messages_consent) | (
        recipients.c.marketing_consent != excluded.marketing_consent
    )
    await ctx.session.execute(
        statement.on_conflict_do_update(
            index_elements=[recipients.c.patient_id],
            set_={
                **{k: excluded[k] for k in values if k != "patient_id"},
                "consent_changed_at": case(
                    (consent_changed, excluded.consent_changed_at), else_=recipients.c.consent_changed_at
                ),
            },
            where=(recipients.c.revision < excluded.revision) & recipients.c.erased_at.is_(None),
        )
    )


async def forget_patient(event: catalogue.PatientErased, ctx: HandlerContext) -> None:
    """Contact details and choices go at once; what was still to be sent is cancelled. The row stays as
    a tombstone so a late contact event cannot bring the patient back."""
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
    await ctx.session.execute(delete(preferences).where(preferences.c.patient_id == event.patient_id))
    await ctx.session.execute(
        update(messages)
        .where(messages.c.patient_id == event.patient_id, messages.c.status.in_(WAITING))
        .values(status="cancelled", last_error="patient erased")
    )


async def recipient(session: AsyncSession, patient_id: UUID) -> Any:
    row = (await session.execute(select(recipients).where(recipients.c.patient_id == patient_id))).first()
    if row is None:
        raise NotKnownYet(f"no contact details for patient {patient_id} yet")
    return row


async def project_visit(
    session: AsyncSession,
    event: catalogue.AppointmentFacts,
    *,
    status: str,
    at: datetime,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    areas: list[str] | None = None,
) -> Any:
    """The visit as it stands after this event: inserted, or moved forward to `status`, with this event's
    times if it is newer than the one they came from. Returns the row."""
    values: dict[str, Any] = {
        "appointment_id": event.appointment_id, "clinic_id": event.clinic_id, "patient_id": event.patient_id,
        "status": status, "starts_at": starts_at, "ends_at": ends_at, "areas": areas or [],
        "times_at": at if starts_at is not None else None,
    }  # fmt: skip
    statement = insert(appointments).values(**values)
    excluded, current = statement.excluded, appointments.c
    newer_times = excluded.times_at.is_not(None) & (current.times_at.is_(None) | (current.times_at < excluded.times_at))
    set_: dict[str, Any] = {
        "status": case((_rank(current.status) < _rank(excluded.status), excluded.status), else_=current.status),
        **{name: case((newer_times, excluded[name]), else_=current[name])
           for name in ("starts_at", "ends_at", "areas", "times_at")},
    }  # fmt: skip
    return (
        await session.execute(
            statement.on_conflict_do_update(index_elements=[current.appointment_id], set_=set_).returning(appointments)
        )
    ).one()


async def advance_visit(
    session: AsyncSession, event: catalogue.AppointmentFacts, status: str, *, at: datetime, **values: Any
) -> Any:
    """Move the visit forward to `status` (a visit never heard of is kept with that status and no
    times); the visit as it is now."""
    visit = await project_visit(session, event, status=status, at=at)
    if values:
        await session.execute(
            update(appointments).where(appointments.c.appointment_id == event.appointment_id).values(**values)
        )
    return visit


async def cancel_waiting(session: AsyncSession, *, reason: str, keep: tuple[str, ...] = (), **where: Any) -> None:
    """Whatever is still to be sent for this visit (or patient, or kind) will not be, but the kinds in
    `keep` (the notice the event itself queued, when the event comes twice)."""
    conditions = [messages.c[name] == value for name, value in where.items()]
    if keep:
        conditions.append(messages.c.kind.not_in(keep))
    await session.execute(
        update(messages)
        .where(*conditions, messages.c.status.in_(WAITING))
        .values(status="cancelled", last_error=reason)
    )
