"""The waitlist: joining it, the worker that offers freed times to waiting patients in the order they
joined, and the patient's answer to an offer.

Time frees up when a visit is cancelled, rejected, moved, or an offer lapses or is declined; the
database records each such time (`freed_times`, by trigger, in the transaction that freed it). The
worker takes those records one at a time and offers a free start overlapping the freed time to the
first waiting patient it suits, then the next, until no one else fits; each offer holds its time like
a booked visit until the patient accepts, declines, or lets it lapse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from booking import availability
from booking.adapters.calendar import Calendar
from booking.adapters.uow import BookingUnitOfWork
from booking.adapters.waitlist import FreedTime
from booking.domain.appointments import Actor, Appointment, IllegalTransition, SlotTaken
from booking.domain.areas import Area
from booking.domain.screening import screen
from booking.domain.staff import PractitionerNotFound
from booking.domain.treatments import AreaNotOffered, TreatmentNotFound
from booking.domain.waitlist import NoOpenOffer, TimesAvailable, WaitlistEntry
from booking.service.visits import (
    ALTERNATIVES,
    PatientDetails,
    calendar_for,
    clinic_calendar,
    ensure_practitioner,
    hold_somewhere,
    record_patient,
    requested,
    starts,
)
from booking.settings import BookingSettings
from clinic_shared.events import catalogue
from clinic_shared.logging import get_logger
from clinic_shared.runtime import SessionFactory

log = get_logger(__name__)

# Decides whether the caller may act on this entry, and as whom (raises when they may not).
Authorize = Callable[[WaitlistEntry], Actor]
# Freed times handled per run of the job, each in its own transaction.
FREED_PER_RUN = 50


@dataclass(frozen=True)
class EntryView:
    entry: WaitlistEntry
    offer: Appointment | None


async def join_waitlist(
    uow: BookingUnitOfWork,
    *,
    clinic_id: UUID,
    treatment_id: UUID,
    areas: tuple[Area, ...],
    practitioner_id: UUID | None,
    first_day: date,
    last_day: date,
    patient: PatientDetails,
    now: datetime,
    returning_patient_id: UUID | None = None,
) -> WaitlistEntry:
    """Put the patient on the clinic's waitlist, unless times in their range are free right now (then
    they are told which, to book one). A returning patient (a manage link of an earlier visit) waits
    on their own record."""
    async with uow:
        calendar = await calendar_for(
            uow, clinic_id=clinic_id, treatment_id=treatment_id, first_day=first_day, last_day=last_day
        )
        ensure_practitioner(calendar, practitioner_id)
        today = now.astimezone(calendar.clinic.zone).date()
        # Written first, so the entry names the record; a refusal below rolls both back.
        recorded = await record_patient(uow, patient, now=now, returning_patient_id=returning_patient_id)
        entry = WaitlistEntry.join(
            clinic_id=clinic_id,
            patient_id=recorded.id,
            treatment_id=treatment_id,
            areas=areas,
            practitioner_id=practitioner_id,
            first_day=first_day,
            last_day=last_day,
            today=today,
            latest_day=today + timedelta(days=calendar.clinic.policy.horizon_days),
            now=now,
        )
        free = availability.free_slots(
            clinic=clinic_calendar(calendar),
            phases=calendar.treatment.phases(areas),
            resources=calendar.resources,
            first_day=entry.first_day,
            last_day=entry.last_day,
            now=now,
            practitioner_id=practitioner_id,
            limit=ALTERNATIVES,
        )
        if free:
            raise TimesAvailable(
                "there are free times in these days: book one of them instead of waiting",
                field="from",
                details={"alternatives": starts(free)},
            )
        await uow.waitlist.add(entry)
        await uow.commit()
    return entry


async def view_entry(uow: BookingUnitOfWork, *, entry_id: UUID, authorize: Authorize) -> EntryView:
    async with uow:
        entry = await uow.waitlist.get(entry_id)
        authorize(entry)
        return EntryView(entry=entry, offer=await uow.waitlist.open_offer(entry.id))


async def list_entries(
    uow: BookingUnitOfWork, *, clinic_id: UUID, statuses: tuple[str, ...], offset: int, limit: int
) -> list[WaitlistEntry]:
    async with uow:
        await uow.clinics.get(clinic_id)
        return await uow.waitlist.listed(
            clinic_id=clinic_id,
            statuses=statuses,  # type: ignore[arg-type]
            offset=offset,
            limit=limit,
        )


async def accept_offer(
    uow: BookingUnitOfWork,
    *,
    entry_id: UUID,
    authorize: Authorize,
    screening_answers: Mapping[str, bool],
    now: datetime,
) -> Appointment:
    """The offered time becomes a booking request like any other: screened now, then confirmed or
    rejected once inventory answers for the supplies."""
    async with uow:
        entry, offer = await _entry_with_offer(uow, entry_id, authorize)
        if offer is None:
            raise NoOpenOffer("there is no open offer for this entry", field="status")
        outcome = screen(await uow.setup.screening(entry.clinic_id), screening_answers)
        accepted = replace(
            offer.accepted(now=now), screening_outcome=outcome, screening_answers=dict(screening_answers)
        )
        screened = ("screening_outcome", "screening_answers")
        if not await uow.appointments.decide(accepted, expected="offered", also=screened):
            raise IllegalTransition("the offer was changed meanwhile; reload it", field="status")
        await uow.waitlist.decide(entry.offer_answered(accepted=True), expected="offered")
        device_model = await uow.setup.device_model(accepted.allocation.device_id)
        uow.outbox.add(requested(accepted, device_model=device_model))
        await uow.commit()
    return accepted


async def decline_offer(uow: BookingUnitOfWork, *, entry_id: UUID, authorize: Authorize) -> WaitlistEntry:
    """The patient does not want this time: it goes to the next in line; they keep their place."""
    async with uow:
        entry, offer = await _entry_with_offer(uow, entry_id, authorize)
        if offer is None:
            raise NoOpenOffer("there is no open offer for this entry", field="status")
        await _withdraw(uow, offer)
        waiting = entry.offer_answered(accepted=False)
        await uow.waitlist.decide(waiting, expected="offered")
        await uow.commit()
    return waiting


async def leave_waitlist(uow: BookingUnitOfWork, *, entry_id: UUID, authorize: Authorize) -> WaitlistEntry:
    async with uow:
        entry, offer = await _entry_with_offer(uow, entry_id, authorize)
        if offer is not None:
            await _withdraw(uow, offer)
        gone = entry.left()
        await uow.waitlist.decide(gone, expected=entry.status)
        await uow.commit()
    return gone


async def leave_all(uow: BookingUnitOfWork, *, patient_id: UUID) -> None:
    """On erasure: the patient's entries close and their open offers free their time. Runs inside
    the caller's transaction."""
    for entry in await uow.waitlist.of_patient(patient_id):
        if not entry.open:
            continue
        offer = await uow.waitlist.open_offer(entry.id, for_update=True)
        if offer is not None:
            await _withdraw(uow, offer)
        await uow.waitlist.decide(entry.left(), expected=entry.status)


async def _entry_with_offer(
    uow: BookingUnitOfWork, entry_id: UUID, authorize: Authorize
) -> tuple[WaitlistEntry, Appointment | None]:
    """The entry and its open offer, both locked until the transaction ends, once the caller may act."""
    entry = await uow.waitlist.get(entry_id, for_update=True)
    authorize(entry)
    return entry, await uow.waitlist.open_offer(entry.id, for_update=True)


async def _withdraw(uow: BookingUnitOfWork, offer: Appointment) -> None:
    if not await uow.appointments.decide(offer.declined(), expected="offered"):
        raise IllegalTransition("the offer was changed meanwhile; reload it", field="status")


# --- the worker's job ------------------------------------------------------------------------------


async def offer_freed_times(session_factory: SessionFactory, settings: BookingSettings) -> None:
    """Worker job: let lapsed offers go, close entries whose days have passed, then offer each freed
    time to the patients waiting for it."""
    now = datetime.now(UTC)
    hold_for = timedelta(minutes=settings.waitlist_offer_hold_minutes)
    async with BookingUnitOfWork(session_factory, producer=settings.service_name) as uow:
        lapsed = await _let_lapsed_offers_go(uow, now=now)
        # A day earlier than any clinic's today, whatever its zone.
        closed = await uow.waitlist.lapse_past(before=now.date() - timedelta(days=1))
        await uow.commit()
    offers = 0
    for _ in range(FREED_PER_RUN):
        async with BookingUnitOfWork(session_factory, producer=settings.service_name) as uow:
            freed = await uow.waitlist.claim_freed_time()
            if freed is None:
                break
            offers += await _offer(uow, freed, now=now, hold_for=hold_for)
            await uow.commit()
    if lapsed or closed or offers:
        log.info("waitlist_run", offers_lapsed=lapsed, entries_closed=closed, offers_made=offers)


async def _let_lapsed_offers_go(uow: BookingUnitOfWork, *, now: datetime) -> int:
    """Locks in the order the patient's answer takes them (the entry, then its offer), skipping an
    entry someone is answering right now: it is looked at again on the next run."""
    lapsed = 0
    for entry_id in await uow.waitlist.entries_with_lapsed_offers(now=now):
        entry = await uow.waitlist.lock_unless_busy(entry_id)
        offer = await uow.waitlist.open_offer(entry_id, for_update=True) if entry else None
        if entry is None or offer is None or offer.offer_expires_at is None or offer.offer_expires_at > now:
            continue
        if not await uow.appointments.decide(offer.lapsed(), expected="offered"):
            continue
        if entry.status == "offered":
            await uow.waitlist.decide(entry.offer_answered(accepted=False), expected="offered")
        uow.outbox.add(
            catalogue.WaitlistOfferExpired(
                offer_id=offer.id, waitlist_entry_id=entry.id, patient_id=entry.patient_id, clinic_id=entry.clinic_id
            )
        )
        lapsed += 1
    return lapsed


async def _offer(uow: BookingUnitOfWork, freed: FreedTime, *, now: datetime, hold_for: timedelta) -> int:
    """Offer starts overlapping `freed` to the waiting patients, first come first; returns how many."""
    if freed.ends_at <= now:
        return 0
    # Entries are kept in local days; a UTC day either side holds the freed time's local days.
    waiting = await uow.waitlist.waiting_for(
        clinic_id=freed.clinic_id,
        first_day=freed.starts_at.astimezone(UTC).date() - timedelta(days=1),
        last_day=freed.ends_at.astimezone(UTC).date() + timedelta(days=1),
    )
    made = 0
    for entry in waiting:
        offer = await _offer_to(uow, entry, freed, now=now, hold_for=hold_for)
        if offer is None:
            continue
        await uow.waitlist.decide(entry.offered(), expected="waiting")
        uow.outbox.add(
            catalogue.WaitlistOfferMade(
                offer_id=offer.id,
                waitlist_entry_id=entry.id,
                patient_id=entry.patient_id,
                clinic_id=entry.clinic_id,
                treatment_id=entry.treatment_id,
                areas=list(entry.areas),
                starts_at=offer.starts_at,
                ends_at=offer.ends_at,
                expires_at=offer.offer_expires_at or now + hold_for,
            )
        )
        made += 1
    return made


async def _offer_to(
    uow: BookingUnitOfWork, entry: WaitlistEntry, freed: FreedTime, *, now: datetime, hold_for: timedelta
) -> Appointment | None:
    try:
        calendar = await _calendar_around(uow, entry, freed)
        if calendar is None:
            return None
        phases = calendar.treatment.phases(entry.areas)
        ensure_practitioner(calendar, entry.practitioner_id)
    except (TreatmentNotFound, AreaNotOffered, PractitionerNotFound) as gone:
        # The clinic changed what it offers since the patient joined; nothing here can suit them.
        log.info("waitlist_entry_unservable", entry_id=str(entry.id), reason=gone.code)
        return None
    zone = calendar.clinic.zone
    first_day = max(entry.first_day, freed.starts_at.astimezone(zone).date())
    last_day = min(entry.last_day, freed.ends_at.astimezone(zone).date())
    offered_before = await uow.waitlist.periods_offered(entry.id)
    slots = availability.free_slots(
        clinic=clinic_calendar(calendar),
        phases=phases,
        resources=calendar.resources,
        first_day=first_day,
        last_day=last_day,
        now=now,
        practitioner_id=entry.practitioner_id,
    )
    for slot in slots:
        ends_at = phases.room(slot.starts_at).end
        if not (slot.starts_at < freed.ends_at and ends_at > freed.starts_at):
            continue  # free all along, not what just freed up
        if any(slot.starts_at < end and ends_at > start for start, end in offered_before):
            continue  # they passed on (about) this time already

        async def store(allocation: availability.Allocation, starts_at: datetime = slot.starts_at) -> Appointment:
            offer = Appointment.offer(
                clinic_id=entry.clinic_id,
                patient_id=entry.patient_id,
                treatment_id=entry.treatment_id,
                areas=entry.areas,
                allocation=allocation,
                starts_at=starts_at,
                phases=phases,
                now=now,
                waitlist_entry_id=entry.id,
                hold_for=hold_for,
            )
            await uow.appointments.hold(offer)
            return offer

        try:
            return await hold_somewhere(
                uow, calendar=calendar, areas=entry.areas, starts_at=slot.starts_at,
                practitioner_id=entry.practitioner_id, now=now, store=store,
            )  # fmt: skip
        except SlotTaken:
            continue  # taken since the calendar was read; try the next start
    return None


async def _calendar_around(uow: BookingUnitOfWork, entry: WaitlistEntry, freed: FreedTime) -> Calendar | None:
    first_day = freed.starts_at.astimezone(UTC).date() - timedelta(days=1)
    last_day = freed.ends_at.astimezone(UTC).date() + timedelta(days=1)
    if entry.last_day < first_day or entry.first_day > last_day:
        return None
    return await calendar_for(
        uow, clinic_id=entry.clinic_id, treatment_id=entry.treatment_id, first_day=first_day, last_day=last_day
    )
