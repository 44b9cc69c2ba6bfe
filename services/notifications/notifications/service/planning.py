"""From events to planned messages: each event projects what it tells and queues the messages it
warrants, each as a row with a due time and a dedupe key, in the handler's transaction.

Dedupe keys are `patient:appointment:kind[:what makes it distinct]`, so a duplicate event never queues a
second message. Whether a message is still warranted is checked again when it is due (service/sending.py):
a visit cancelled after its reminder was queued gets no reminder."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from clinic_shared.events import catalogue
from clinic_shared.logging import get_logger
from clinic_shared.messaging import HandlerContext
from clinic_shared.projections.clinics import clinics
from notifications.adapters.tables import appointments, clinic_policies, messages, recipients
from notifications.domain import schedule
from notifications.domain.kinds import KINDS
from notifications.domain.schedule import ClinicPolicy, QuietHours
from notifications.service import projections, reach
from notifications.service.projections import WAITING, NotKnownYet

log = get_logger(__name__)
# A reminder that would go out within this long of the confirmation is not worth sending.
REMINDER_MIN_GAP = timedelta(hours=2)


@dataclass(frozen=True)
class Planned:
    kind: str
    clinic_id: UUID
    due_at: datetime
    dedupe_key: str
    patient_id: UUID | None = None
    appointment_id: UUID | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    status: str = "queued"
    reason: str | None = None


async def clinic_rules(session: AsyncSession, clinic_id: UUID) -> tuple[ZoneInfo, ClinicPolicy]:
    row = (
        await session.execute(
            select(clinics.c.timezone, clinic_policies)
            .select_from(clinics)
            .outerjoin(clinic_policies, clinic_policies.c.clinic_id == clinics.c.id)
            .where(clinics.c.id == clinic_id)
        )
    ).first()
    if row is None:
        raise NotKnownYet(f"clinic {clinic_id} is not known yet")
    if row.reminder_lead_hours is None:
        return ZoneInfo(row.timezone), schedule.DEFAULT_POLICY
    return ZoneInfo(row.timezone), ClinicPolicy(
        reminder_lead=timedelta(hours=row.reminder_lead_hours), quiet=QuietHours(row.quiet_start, row.quiet_end)
    )


async def queue(session: AsyncSession, planned: Planned, *, channel: str = "email") -> bool:
    """Queue the message once; False when its dedupe key was already taken."""
    kind = KINDS[planned.kind]
    inserted = await session.scalar(
        insert(messages)
        .values(
            id=uuid.uuid4(), dedupe_key=planned.dedupe_key, patient_id=planned.patient_id,
            appointment_id=planned.appointment_id, clinic_id=planned.clinic_id, kind=kind.name,
            audience=kind.audience, category=kind.category, urgent=kind.urgent, facts=planned.facts,
            channel=channel, status=planned.status, due_at=planned.due_at, last_error=planned.reason,
        )
        .on_conflict_do_nothing(index_elements=[messages.c.dedupe_key])
        .returning(messages.c.id)
    )  # fmt: skip
    return inserted is not None


def _key(event: catalogue.AppointmentFacts, kind: str, *extra: object) -> str:
    return ":".join(str(part) for part in (event.patient_id, event.appointment_id, kind, *extra))


def _patient_message(event: catalogue.AppointmentFacts, kind: str, due_at: datetime, *extra: object,
                     **facts: Any) -> Planned:  # fmt: skip
    return Planned(
        kind=kind, clinic_id=event.clinic_id, patient_id=event.patient_id, appointment_id=event.appointment_id,
        due_at=due_at, dedupe_key=_key(event, kind, *extra), facts=facts,
    )  # fmt: skip


def _when(ctx: HandlerContext) -> datetime:
    """The event's own time: plans are a function of what happened and when, not of when it was read."""
    return ctx.envelope.occurred_at


async def requested(event: catalogue.AppointmentRequested, ctx: HandlerContext) -> None:
    await projections.project_visit(
        ctx.session, event, status="requested", at=_when(ctx), starts_at=event.starts_at, ends_at=event.ends_at,
        areas=list(event.areas),
    )  # fmt: skip


async def _plan_reminder(
    ctx: HandlerContext, event: catalogue.AppointmentFacts, visit: Any, zone: ZoneInfo, policy: ClinicPolicy
) -> None:
    """The reminder for the visit's time (one per time: moving back to a time revives its reminder),
    unless that time is almost here."""
    reminder_at = visit.starts_at - policy.reminder_lead
    if reminder_at < _when(ctx) + REMINDER_MIN_GAP:
        return
    due = policy.quiet.release(reminder_at, zone)
    statement = insert(messages).values(
        id=uuid.uuid4(), dedupe_key=_key(event, "reminder", visit.starts_at.isoformat()),
        patient_id=event.patient_id, appointment_id=event.appointment_id, clinic_id=event.clinic_id,
        kind="reminder", audience="patient", category="care", urgent=False,
        facts={"starts_at": visit.starts_at.isoformat()}, channel="email", status="queued", due_at=due,
    )  # fmt: skip
    await ctx.session.execute(
        statement.on_conflict_do_update(
            index_elements=[messages.c.dedupe_key],
            set_={"status": "queued", "due_at": due, "last_error": None},
            where=messages.c.status == "cancelled",
        )
    )


async def confirmed(event: catalogue.AppointmentConfirmed, ctx: HandlerContext) -> None:
    """The confirmation at once, and the reminder the clinic's lead time before the visit (unless that
    is almost now). Times are the visit's as it stands: a move handled first is not undone."""
    recipient = await projections.recipient(ctx.session, event.patient_id)
    zone, policy = await clinic_rules(ctx.session, event.clinic_id)
    visit = await projections.project_visit(
        ctx.session, event, status="confirmed", at=_when(ctx), starts_at=event.starts_at, ends_at=event.ends_at,
        areas=list(event.areas),
    )  # fmt: skip
    if visit.status != "confirmed":
        log.info("confirmation_not_queued", appointment_id=str(event.appointment_id), status=visit.status)
        return
    await queue(ctx.session, _patient_message(event, "confirmation", _when(ctx)), channel=recipient.preferred_channel)
    await _plan_reminder(ctx, event, visit, zone, policy)


async def rescheduled(event: catalogue.AppointmentRescheduled, ctx: HandlerContext) -> None:
    """The new time is announced (once per move) and the pending reminder moves with the visit. A move
    older than the visit's times (handled late) changes nothing."""
    await projections.recipient(ctx.session, event.patient_id)
    zone, policy = await clinic_rules(ctx.session, event.clinic_id)
    at = _when(ctx)
    visit = (
        await ctx.session.execute(
            update(appointments)
            .where(appointments.c.appointment_id == event.appointment_id,
                   appointments.c.status.in_(("requested", "confirmed")),
                   appointments.c.times_at.is_(None) | (appointments.c.times_at < at))
            .values(starts_at=event.starts_at, ends_at=event.ends_at, areas=list(event.areas), times_at=at)
            .returning(appointments)
        )
    ).first()  # fmt: skip
    if visit is None:
        known = await ctx.session.scalar(
            select(appointments.c.status).where(appointments.c.appointment_id == event.appointment_id)
        )
        if known is None:
            raise NotKnownYet(f"appointment {event.appointment_id} is not known yet")
        log.info("move_not_applied", appointment_id=str(event.appointment_id), reason="newer state or final")
        return
    if visit.status != "confirmed":
        return  # not confirmed yet: its confirmation will carry the new time
    await projections.cancel_waiting(
        ctx.session, reason="moved again", appointment_id=event.appointment_id, kind="rescheduled"
    )
    confirmation_waiting = await ctx.session.scalar(
        select(messages.c.id).where(
            messages.c.dedupe_key == _key(event, "confirmation"), messages.c.status.in_(WAITING)
        )
    )
    if confirmation_waiting is None:  # else the confirmation, still to go, carries the new time
        await queue(
            ctx.session,
            _patient_message(
                event, "rescheduled", at, ctx.envelope.message_id,
                previous_starts_at=event.previous_starts_at.isoformat(), starts_at=event.starts_at.isoformat(),
            ),
        )  # fmt: skip
    for_new_time = _key(event, "reminder", visit.starts_at.isoformat())
    await ctx.session.execute(
        update(messages)
        .where(messages.c.appointment_id == event.appointment_id, messages.c.kind == "reminder",
               messages.c.status.in_(WAITING), messages.c.dedupe_key != for_new_time)
        .values(status="cancelled", last_error="the visit moved")
    )  # fmt: skip
    await _plan_reminder(ctx, event, visit, zone, policy)


async def cancelled(event: catalogue.AppointmentCancelled, ctx: HandlerContext) -> None:
    """Nothing more is sent for a cancelled visit but the notice that it is cancelled. A visit cancelled
    before its request or confirmation arrived is kept as cancelled, and the confirmation's place is
    taken, so nothing is sent when they come."""
    visit = await projections.advance_visit(ctx.session, event, "cancelled", at=_when(ctx))
    await projections.cancel_waiting(
        ctx.session, reason="appointment cancelled", keep=("cancelled",), appointment_id=event.appointment_id
    )
    await queue(
        ctx.session,
        Planned(
            kind="confirmation", clinic_id=event.clinic_id, patient_id=event.patient_id,
            appointment_id=event.appointment_id, due_at=_when(ctx), dedupe_key=_key(event, "confirmation"),
            status="cancelled", reason="appointment cancelled",
        ),
    )  # fmt: skip
    if visit.starts_at is None:
        # Its request never reached us: there is no time to write about.
        log.warning("cancellation_notice_skipped", appointment_id=str(event.appointment_id), reason="visit unknown")
        return
    await queue(ctx.session, _patient_message(event, "cancelled", _when(ctx), cancelled_by=event.cancelled_by))


async def rejected(event: catalogue.AppointmentRejected, ctx: HandlerContext) -> None:
    """The requested visit could not be confirmed (no supplies for it): an apology and a way back. It
    follows its request closely; if it overtook it, it waits for it."""
    known = await ctx.session.scalar(
        select(appointments.c.starts_at).where(appointments.c.appointment_id == event.appointment_id)
    )
    if known is None:
        raise NotKnownYet(f"appointment {event.appointment_id} is not known yet")
    await projections.advance_visit(ctx.session, event, "rejected", at=_when(ctx))
    await projections.cancel_waiting(
        ctx.session, reason="appointment rejected", keep=("rejected",), appointment_id=event.appointment_id
    )
    await queue(ctx.session, _patient_message(event, "rejected", _when(ctx)))


async def checked_in(event: catalogue.AppointmentCheckedIn, ctx: HandlerContext) -> None:
    await projections.advance_visit(ctx.session, event, "checked_in", at=_when(ctx))
    await projections.cancel_waiting(
        ctx.session, reason="the patient is here", appointment_id=event.appointment_id, kind="reminder"
    )


async def no_show(event: catalogue.AppointmentNoShow, ctx: HandlerContext) -> None:
    await projections.advance_visit(ctx.session, event, "no_show", at=_when(ctx))
    await projections.cancel_waiting(ctx.session, reason="no-show", appointment_id=event.appointment_id)


async def completed(event: catalogue.AppointmentCompleted, ctx: HandlerContext) -> None:
    """The aftercare sequence, in the clinic's time, and the next session's suggestion when the course
    has one to book (sent only with marketing consent). A completion that overtook the visit's request
    waits for it: aftercare links to the visit."""
    await projections.recipient(ctx.session, event.patient_id)
    zone, policy = await clinic_rules(ctx.session, event.clinic_id)
    known = await ctx.session.scalar(
        select(appointments.c.starts_at).where(appointments.c.appointment_id == event.appointment_id)
    )
    if known is None:
        raise NotKnownYet(f"appointment {event.appointment_id} is not known yet")
    await projections.advance_visit(ctx.session, event, "completed", at=_when(ctx), completed_at=event.completed_at)
    await projections.cancel_waiting(
        ctx.session, reason="the visit took place", appointment_id=event.appointment_id, kind="reminder"
    )
    for kind, due in schedule.aftercare_due(event.completed_at, zone, policy.quiet).items():
        await queue(ctx.session, _patient_message(event, kind, policy.quiet.release(due, zone)))
    if event.next_session is not None:
        due = schedule.next_session_due(event.completed_at, event.next_session.first_day, zone)
        await queue(
            ctx.session,
            _patient_message(
                event, "next_session", policy.quiet.release(due, zone),
                session_number=event.next_session.session_number,
                first_day=event.next_session.first_day.isoformat(), last_day=event.next_session.last_day.isoformat(),
            ),
        )  # fmt: skip


async def offer_made(event: catalogue.WaitlistOfferMade, ctx: HandlerContext) -> None:
    await projections.recipient(ctx.session, event.patient_id)
    await clinic_rules(ctx.session, event.clinic_id)
    await queue(
        ctx.session,
        Planned(
            kind="waitlist_offer", clinic_id=event.clinic_id, patient_id=event.patient_id, due_at=_when(ctx),
            dedupe_key=f"{event.patient_id}:offer:{event.offer_id}:waitlist_offer",
            facts={
                "offer_id": str(event.offer_id), "entry_id": str(event.waitlist_entry_id),
                "starts_at": event.starts_at.isoformat(), "ends_at": event.ends_at.isoformat(),
                "expires_at": event.expires_at.isoformat(), "areas": list(event.areas),
            },
        ),
    )  # fmt: skip


async def offer_expired(event: catalogue.WaitlistOfferExpired, ctx: HandlerContext) -> None:
    await ctx.session.execute(
        update(messages)
        .where(messages.c.dedupe_key == f"{event.patient_id}:offer:{event.offer_id}:waitlist_offer",
               messages.c.status.in_(WAITING))
        .values(status="cancelled", last_error="offer expired")
    )  # fmt: skip


# A supply alert's kind and the facts of its event that its e-mail shows.
SUPPLY_ALERTS: dict[type[Any], tuple[str, tuple[str, ...]]] = {
    catalogue.StockLow: ("stock_low", ("item_id", "item_name", "available", "reorder_point", "unit")),
    catalogue.LotExpiring: ("lot_expiring", ("item_id", "item_name", "lot_number", "expires_on", "on_hand")),
    catalogue.ShortfallProjected: (
        "shortfall_projected", ("item_id", "item_name", "on_date", "required", "available", "unit"),
    ),
}  # fmt: skip


async def supply_alert(event: catalogue.StockLow | catalogue.LotExpiring | catalogue.ShortfallProjected,
                       ctx: HandlerContext) -> None:  # fmt: skip
    """One alert for the clinic's managers per event (inventory sends each once: per dip, per lot, per
    day)."""
    kind, fields = SUPPLY_ALERTS[type(event)]
    await queue(
        ctx.session,
        Planned(
            kind=kind, clinic_id=event.clinic_id, due_at=_when(ctx), dedupe_key=f"alert:{ctx.envelope.message_id}",
            facts={name: str(getattr(event, name)) for name in fields},
        ),
    )  # fmt: skip


async def lot_recalled(event: catalogue.LotRecalled, ctx: HandlerContext) -> None:
    """A notice to every patient treated with the lot whom notifications can reach (the sender's own
    rule: consent per channel and a usable address), and to each clinic's managers the count of visits,
    of patients sent a notice, and of patients to phone (names stay in booking)."""
    by_clinic: dict[UUID, list[UUID]] = {}
    for affected in event.affected_appointments:
        by_clinic.setdefault(affected.clinic_id, []).append(affected.appointment_id)
    for clinic_id, appointment_ids in by_clinic.items():
        await clinic_rules(ctx.session, clinic_id)
        visits = (
            await ctx.session.execute(
                select(appointments.c.appointment_id, appointments.c.patient_id, appointments.c.starts_at)
                .where(appointments.c.appointment_id.in_(appointment_ids), appointments.c.starts_at.is_not(None))
            )
        ).all()  # fmt: skip
        told = 0
        for visit in visits:
            person = (
                await ctx.session.execute(select(recipients).where(recipients.c.patient_id == visit.patient_id))
            ).first()
            way = reach.route(
                person, await reach.choices(ctx.session, visit.patient_id), "care", KINDS["recall_notice"].channels
            )
            if not isinstance(way, reach.Reach):
                continue
            told += 1
            await queue(
                ctx.session,
                Planned(
                    kind="recall_notice", clinic_id=clinic_id, patient_id=visit.patient_id,
                    appointment_id=visit.appointment_id, due_at=_when(ctx),
                    dedupe_key=f"{visit.patient_id}:{visit.appointment_id}:recall_notice:{event.recall_id}",
                    facts={"recall_id": str(event.recall_id), "treated_at": visit.starts_at.isoformat()},
                ),
            )  # fmt: skip
        await queue(
            ctx.session,
            Planned(
                kind="lot_recalled", clinic_id=clinic_id, due_at=_when(ctx),
                dedupe_key=f"alert:recall:{event.recall_id}:{clinic_id}",
                facts={
                    "item_id": str(event.item_id), "item_name": event.item_name, "lot_number": event.lot_number,
                    "affected_count": str(len(appointment_ids)), "notified_count": str(told),
                    "unreachable_count": str(len(appointment_ids) - told),
                },
            ),
        )  # fmt: skip
