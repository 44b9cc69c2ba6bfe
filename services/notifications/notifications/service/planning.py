"""From events to planned messages: each event projects what it tells and queues the messages it
warrants, each as a row with a due time and a dedupe key, in the handler's transaction.

Dedupe keys are `patient:appointment:kind[:what makes it distinct]`, so a duplicate event never queues a
second message. Whether a message is still warranted is checked again when it is due (service/sending.py):
a visit cancelled after its reminder was queued gets no reminder.

Events may arrive late, twice, or out of order (a consumer handles several deliveries at once, and
retries overtake), so a visit's status only moves forward (a late `confirmed` never revives a cancelled
visit) and its times come only from an event newer than the one that set them. A visit whose end
arrives before its request is kept without times, so the request, when it comes, cannot bring it back.
Plans are a function of what happened and when (the event's `occurred_at`), not of when it was read.
A patient's messages are planned even before their contact details arrive (the two come on different
events, handled concurrently); the sender waits for the details."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from clinic_shared.events import catalogue
from clinic_shared.logging import get_logger
from clinic_shared.messaging import HandlerContext
from notifications.adapters.repositories import NotKnownYet, Repositories
from notifications.domain import schedule
from notifications.domain.kinds import KINDS
from notifications.domain.messages import Planned
from notifications.domain.schedule import ClinicPolicy
from notifications.service import reach

log = get_logger(__name__)
# A reminder that would go out within this long of the confirmation is not worth sending.
REMINDER_MIN_GAP = timedelta(hours=2)


def _key(event: catalogue.AppointmentFacts, kind: str, *extra: object) -> str:
    return ":".join(str(part) for part in (event.patient_id, event.appointment_id, kind, *extra))


def _patient_message(event: catalogue.AppointmentFacts, kind: str, due_at: datetime, *extra: object,
                     **facts: Any) -> Planned:  # fmt: skip
    return Planned(
        kind=kind, clinic_id=event.clinic_id, patient_id=event.patient_id, appointment_id=event.appointment_id,
        due_at=due_at, dedupe_key=_key(event, kind, *extra), facts=facts,
    )  # fmt: skip


def _when(ctx: HandlerContext) -> datetime:
    return ctx.envelope.occurred_at


async def _project(
    repos: Repositories, event: catalogue.AppointmentFacts, status: str, ctx: HandlerContext, **times: Any
) -> Any:
    return await repos.visits.project(
        appointment_id=event.appointment_id, clinic_id=event.clinic_id, patient_id=event.patient_id, status=status,
        at=_when(ctx), **times,
    )  # fmt: skip


async def requested(event: catalogue.AppointmentRequested, ctx: HandlerContext) -> None:
    repos = Repositories(ctx.session)
    await _project(
        repos, event, "requested", ctx, starts_at=event.starts_at, ends_at=event.ends_at, areas=list(event.areas)
    )


async def _plan_reminder(
    repos: Repositories, ctx: HandlerContext, event: catalogue.AppointmentFacts, visit: Any, zone: ZoneInfo,
    policy: ClinicPolicy,
) -> None:  # fmt: skip
    """The reminder for the visit's time (one per time: moving back to a time revives its reminder),
    unless that time is almost here."""
    reminder_at = visit.starts_at - policy.reminder_lead
    if reminder_at < _when(ctx) + REMINDER_MIN_GAP:
        return
    await repos.messages.queue_or_revive(
        _patient_message(
            event, "reminder", policy.quiet.release(reminder_at, zone), visit.starts_at.isoformat(),
            starts_at=visit.starts_at.isoformat(),
        )
    )  # fmt: skip


async def confirmed(event: catalogue.AppointmentConfirmed, ctx: HandlerContext) -> None:
    """The confirmation at once, and the reminder the clinic's lead time before the visit (unless that
    is almost now). Times are the visit's as it stands: a move handled first is not undone."""
    repos = Repositories(ctx.session)
    zone, policy = await repos.clinics.rules(event.clinic_id)
    visit = await _project(
        repos, event, "confirmed", ctx, starts_at=event.starts_at, ends_at=event.ends_at, areas=list(event.areas)
    )
    if visit.status != "confirmed":
        log.info("confirmation_not_queued", appointment_id=str(event.appointment_id), status=visit.status)
        return
    await repos.messages.queue(_patient_message(event, "confirmation", _when(ctx)))
    await _plan_reminder(repos, ctx, event, visit, zone, policy)


async def rescheduled(event: catalogue.AppointmentRescheduled, ctx: HandlerContext) -> None:
    """The new time is announced (once per move) and the pending reminder moves with the visit. A move
    older than the visit's times (handled late) changes nothing."""
    repos = Repositories(ctx.session)
    zone, policy = await repos.clinics.rules(event.clinic_id)
    at = _when(ctx)
    visit = await repos.visits.move(
        event.appointment_id, at=at, starts_at=event.starts_at, ends_at=event.ends_at, areas=list(event.areas)
    )
    if visit is None:
        if await repos.visits.find(event.appointment_id) is None:
            raise NotKnownYet(f"appointment {event.appointment_id} is not known yet")
        log.info("move_not_applied", appointment_id=str(event.appointment_id), reason="newer state or final")
        return
    if visit.status != "confirmed":
        return  # not confirmed yet: its confirmation will carry the new time
    await repos.messages.cancel_waiting(reason="moved again", appointment_id=event.appointment_id, kind="rescheduled")
    if not await repos.messages.is_waiting(_key(event, "confirmation")):  # else the confirmation carries it
        await repos.messages.queue(
            _patient_message(
                event, "rescheduled", at, ctx.envelope.message_id,
                previous_starts_at=event.previous_starts_at.isoformat(), starts_at=event.starts_at.isoformat(),
            )
        )  # fmt: skip
    await repos.messages.cancel_waiting(
        reason="the visit moved", appointment_id=event.appointment_id, kind="reminder",
        not_dedupe_key=_key(event, "reminder", visit.starts_at.isoformat()),
    )  # fmt: skip
    await _plan_reminder(repos, ctx, event, visit, zone, policy)


async def cancelled(event: catalogue.AppointmentCancelled, ctx: HandlerContext) -> None:
    """Nothing more is sent for a cancelled visit but the notice that it is cancelled. A visit cancelled
    before its request or confirmation arrived is kept as cancelled, and the confirmation's place is
    taken, so nothing is sent when they come."""
    repos = Repositories(ctx.session)
    await repos.clinics.rules(event.clinic_id)  # a clinic not known yet: the event waits for it
    visit = await _project(repos, event, "cancelled", ctx)
    await repos.messages.cancel_waiting(
        reason="appointment cancelled", keep=("cancelled",), appointment_id=event.appointment_id
    )
    await repos.messages.queue(
        Planned(
            kind="confirmation", clinic_id=event.clinic_id, patient_id=event.patient_id,
            appointment_id=event.appointment_id, due_at=_when(ctx), dedupe_key=_key(event, "confirmation"),
            status="cancelled", reason="appointment cancelled",
        )
    )  # fmt: skip
    if visit.starts_at is None:  # its request never reached us: there is no time to write about
        log.warning("cancellation_notice_skipped", appointment_id=str(event.appointment_id), reason="visit unknown")
        return
    await repos.messages.queue(_patient_message(event, "cancelled", _when(ctx), cancelled_by=event.cancelled_by))


async def _known(repos: Repositories, appointment_id: UUID) -> None:
    """An event that needs the visit's times waits for its request when it overtook it."""
    visit = await repos.visits.find(appointment_id)
    if visit is None or visit.starts_at is None:
        raise NotKnownYet(f"appointment {appointment_id} is not known yet")


async def rejected(event: catalogue.AppointmentRejected, ctx: HandlerContext) -> None:
    """The requested visit could not be confirmed (no supplies for it): an apology and a way back."""
    repos = Repositories(ctx.session)
    await _known(repos, event.appointment_id)
    await _project(repos, event, "rejected", ctx)
    await repos.messages.cancel_waiting(
        reason="appointment rejected", keep=("rejected",), appointment_id=event.appointment_id
    )
    await repos.messages.queue(_patient_message(event, "rejected", _when(ctx)))


async def checked_in(event: catalogue.AppointmentCheckedIn, ctx: HandlerContext) -> None:
    repos = Repositories(ctx.session)
    await _project(repos, event, "checked_in", ctx)
    await repos.messages.cancel_waiting(
        reason="the patient is here", appointment_id=event.appointment_id, kind="reminder"
    )


async def no_show(event: catalogue.AppointmentNoShow, ctx: HandlerContext) -> None:
    repos = Repositories(ctx.session)
    await _project(repos, event, "no_show", ctx)
    await repos.messages.cancel_waiting(reason="no-show", appointment_id=event.appointment_id)


async def completed(event: catalogue.AppointmentCompleted, ctx: HandlerContext) -> None:
    """The aftercare sequence, in the clinic's time, and the next session's suggestion when the course
    has one to book (sent only with marketing consent)."""
    repos = Repositories(ctx.session)
    zone, policy = await repos.clinics.rules(event.clinic_id)
    await _known(repos, event.appointment_id)
    await _project(repos, event, "completed", ctx)
    await repos.visits.set(event.appointment_id, completed_at=event.completed_at)
    await repos.messages.cancel_waiting(
        reason="the visit took place", appointment_id=event.appointment_id, kind="reminder"
    )
    for kind, due in schedule.aftercare_due(event.completed_at, zone, policy.quiet).items():
        await repos.messages.queue(_patient_message(event, kind, policy.quiet.release(due, zone)))
    if event.next_session is not None:
        due = schedule.next_session_due(event.completed_at, event.next_session.first_day, zone)
        await repos.messages.queue(
            _patient_message(
                event, "next_session", policy.quiet.release(due, zone),
                session_number=event.next_session.session_number,
                first_day=event.next_session.first_day.isoformat(), last_day=event.next_session.last_day.isoformat(),
            )
        )  # fmt: skip


def _offer_key(patient_id: UUID, offer_id: UUID) -> str:
    return f"{patient_id}:offer:{offer_id}:waitlist_offer"


async def offer_made(event: catalogue.WaitlistOfferMade, ctx: HandlerContext) -> None:
    repos = Repositories(ctx.session)
    await repos.clinics.rules(event.clinic_id)
    await repos.messages.queue(
        Planned(
            kind="waitlist_offer", clinic_id=event.clinic_id, patient_id=event.patient_id, due_at=_when(ctx),
            dedupe_key=_offer_key(event.patient_id, event.offer_id),
            facts={
                "offer_id": str(event.offer_id), "entry_id": str(event.waitlist_entry_id),
                "starts_at": event.starts_at.isoformat(), "ends_at": event.ends_at.isoformat(),
                "expires_at": event.expires_at.isoformat(), "areas": list(event.areas),
            },
        )
    )  # fmt: skip


async def offer_expired(event: catalogue.WaitlistOfferExpired, ctx: HandlerContext) -> None:
    await Repositories(ctx.session).messages.cancel_waiting(
        reason="offer expired", dedupe_key=_offer_key(event.patient_id, event.offer_id)
    )


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
    repos = Repositories(ctx.session)
    await repos.clinics.rules(event.clinic_id)  # a clinic not known yet: the event waits for it
    await repos.messages.queue(
        Planned(
            kind=kind, clinic_id=event.clinic_id, due_at=_when(ctx), dedupe_key=f"alert:{ctx.envelope.message_id}",
            facts={name: str(getattr(event, name)) for name in fields},
        )
    )  # fmt: skip


async def lot_recalled(event: catalogue.LotRecalled, ctx: HandlerContext) -> None:
    """A notice to every patient treated with the lot whom notifications can reach (the sender's own
    rule: consent per channel and a usable address), and to each clinic's managers the count of visits,
    of patients sent a notice, and of patients to phone (names stay in booking)."""
    repos = Repositories(ctx.session)
    by_clinic: dict[UUID, list[UUID]] = {}
    for affected in event.affected_appointments:
        by_clinic.setdefault(affected.clinic_id, []).append(affected.appointment_id)
    for clinic_id, appointment_ids in by_clinic.items():
        await repos.clinics.rules(clinic_id)
        told = 0
        for visit in await repos.visits.treated(appointment_ids):
            person = await repos.recipients.find(visit.patient_id)
            choices = await repos.recipients.choices(visit.patient_id)
            if not isinstance(reach.route(person, choices, "care", KINDS["recall_notice"].channels), reach.Reach):
                continue
            told += 1
            await repos.messages.queue(
                Planned(
                    kind="recall_notice", clinic_id=clinic_id, patient_id=visit.patient_id,
                    appointment_id=visit.appointment_id, due_at=_when(ctx),
                    dedupe_key=f"{visit.patient_id}:{visit.appointment_id}:recall_notice:{event.recall_id}",
                    facts={"recall_id": str(event.recall_id), "treated_at": visit.starts_at.isoformat()},
                )
            )  # fmt: skip
        await repos.messages.queue(
            Planned(
                kind="lot_recalled", clinic_id=clinic_id, due_at=_when(ctx),
                dedupe_key=f"alert:recall:{event.recall_id}:{clinic_id}",
                facts={
                    "item_id": str(event.item_id), "item_name": event.item_name, "lot_number": event.lot_number,
                    "affected_count": str(len(appointment_ids)), "notified_count": str(told),
                    "unreachable_count": str(len(appointment_ids) - told),
                },
            )
        )  # fmt: skip
