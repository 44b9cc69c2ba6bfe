"""Finding free times and holding them: the calendar around a start, the checks every start passes,
and the allocation that holds a practitioner, room and device (for a visit, an offer or a hold); and
the patient's record a booking writes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from uuid import UUID

from booking import availability
from booking.adapters.appointments import SlotTakenBy
from booking.adapters.calendar import Calendar, load_calendar
from booking.adapters.uow import BookingUnitOfWork
from booking.domain.appointments import Appointment, SlotTaken
from booking.domain.areas import Area
from booking.domain.clinics import Clinic
from booking.domain.holds import Hold
from booking.domain.patients import Channel, Consent, HealthDetails, Patient, PatientNotFound
from booking.domain.staff import PractitionerNotFound
from clinic_shared.errors import InvalidInput
from clinic_shared.events import catalogue

# No clinic books further ahead than this; anything beyond is refused before any date arithmetic.
FURTHEST_AHEAD = timedelta(days=3 * 365)
# A concurrent booking can take the resource we picked between reading the calendar and inserting;
# we then pick again without it. Past this many collisions the time is simply taken.
ALLOCATION_ATTEMPTS = 3
ALTERNATIVES = 5
# What `hold_somewhere` holds: a visit, an offer from the waitlist, or a hold.
Held = TypeVar("Held", Appointment, Hold)


class InvalidSearch(InvalidInput):
    code = "invalid_search"


@dataclass(frozen=True)
class PatientDetails:
    display_name: str
    email: str | None
    phone: str | None
    preferred_channel: Channel
    locale: str
    care_messages_consent: bool
    marketing_consent: bool
    consent_text_version: str | None
    health: HealthDetails = field(default_factory=HealthDetails)

    def as_patient(self, *, now: datetime) -> Patient:
        """The patient these details describe, checked as at a first booking (a new record's id)."""
        return Patient.at_first_booking(
            display_name=self.display_name,
            email=self.email,
            phone=self.phone,
            preferred_channel=self.preferred_channel,
            locale=self.locale,
            care_messages_consent=self.care_messages_consent,
            marketing_consent=self.marketing_consent,
            consent=Consent(text_version=self.consent_text_version, given_at=now)
            if self.consent_text_version
            else None,
            health=self.health,
        )


def clinic_calendar(calendar: Calendar) -> availability.ClinicCalendar:
    clinic = calendar.clinic
    return availability.ClinicCalendar(
        timezone=clinic.zone,
        opening_hours=clinic.opening_hours,
        closures=calendar.closures,
        grid=timedelta(minutes=clinic.policy.slot_grid_minutes),
        min_notice=timedelta(minutes=clinic.policy.min_notice_minutes),
        horizon=timedelta(days=clinic.policy.horizon_days),
    )


async def calendar_for(
    uow: BookingUnitOfWork,
    *,
    clinic_id: UUID,
    treatment_id: UUID,
    first_day: date,
    last_day: date,
    ignoring: UUID | None = None,
    practitioner_id: UUID | None = None,
) -> Calendar:
    """`practitioner_id`: of the clinic's practitioners, read only this one."""
    # A day wide margin on both sides covers every time zone and the longest visit.
    return await load_calendar(
        uow.session,
        clinic_id=clinic_id,
        treatment_id=treatment_id,
        first_day=first_day,
        last_day=last_day,
        window_start=datetime.combine(first_day - timedelta(days=1), time(), UTC),
        window_end=datetime.combine(last_day + timedelta(days=2), time(), UTC),
        ignoring=ignoring,
        practitioner_id=practitioner_id,
    )


async def find_availability(
    uow: BookingUnitOfWork,
    *,
    clinic_id: UUID,
    treatment_id: UUID,
    areas: tuple[Area, ...],
    first_day: date,
    last_day: date,
    practitioner_id: UUID | None,
    now: datetime,
) -> tuple[Clinic, list[availability.Slot]]:
    today = now.date()
    if first_day < today - timedelta(days=1):
        raise InvalidSearch("search from today on", field="from")
    if last_day > today + FURTHEST_AHEAD:
        raise InvalidSearch("search at most three years ahead", field="to")
    if last_day < first_day:
        raise InvalidSearch("the search must end on or after its first day", field="to")
    if (last_day - first_day).days >= availability.MAX_SEARCH_DAYS:
        raise InvalidSearch(f"search at most {availability.MAX_SEARCH_DAYS} days at once", field="to")
    async with uow:
        await uow.read_without_transaction()
        calendar = await calendar_for(
            uow,
            clinic_id=clinic_id,
            treatment_id=treatment_id,
            first_day=first_day,
            last_day=last_day,
            practitioner_id=practitioner_id,
        )
    ensure_practitioner(calendar, practitioner_id)
    slots = availability.free_slots(
        clinic=clinic_calendar(calendar),
        phases=calendar.treatment.phases(areas),
        resources=calendar.resources,
        first_day=first_day,
        last_day=last_day,
        now=now,
        practitioner_id=practitioner_id,
    )
    return calendar.clinic, slots


def days_around(starts_at: datetime) -> tuple[date, date]:
    """The UTC day of a start and one either side: whatever the clinic's zone, its local day (and so
    its closures and the credentials valid that day) is inside."""
    day = starts_at.astimezone(UTC).date()
    return day - timedelta(days=1), day + timedelta(days=1)


def ensure_plausible_start(starts_at: datetime, *, now: datetime) -> None:
    """Refuse a start in the past or years ahead up front, whatever the clinic's policy says."""
    if starts_at < now:
        raise availability.StartTooSoon("this time has passed", field="starts_at")
    if starts_at > now + FURTHEST_AHEAD:
        raise availability.StartBeyondHorizon("this time is too far ahead to book", field="starts_at")


def ensure_practitioner(calendar: Calendar, practitioner_id: UUID | None) -> None:
    known = {p.practitioner_id for p in calendar.resources.practitioners}
    if practitioner_id is not None and practitioner_id not in known:
        raise PractitionerNotFound("no such practitioner at this clinic", field="practitioner_id")


async def checked_start(
    uow: BookingUnitOfWork,
    *,
    clinic_id: UUID,
    treatment_id: UUID,
    areas: tuple[Area, ...],
    starts_at: datetime,
    practitioner_id: UUID | None,
    now: datetime,
    ignoring: UUID | None = None,
) -> tuple[Calendar, availability.Phases]:
    """The calendar around a start a caller asks for, once the start is one the clinic takes (a
    booking and a hold refuse the same starts the same way)."""
    ensure_plausible_start(starts_at, now=now)
    first_day, last_day = days_around(starts_at)
    calendar = await calendar_for(
        uow,
        clinic_id=clinic_id,
        treatment_id=treatment_id,
        first_day=first_day,
        last_day=last_day,
        ignoring=ignoring,
        practitioner_id=practitioner_id,
    )
    ensure_practitioner(calendar, practitioner_id)
    phases = calendar.treatment.phases(areas)
    availability.check_start(clinic=clinic_calendar(calendar), phases=phases, starts_at=starts_at, now=now)
    return calendar, phases


async def hold_somewhere(
    uow: BookingUnitOfWork,
    *,
    calendar: Calendar,
    areas: tuple[Area, ...],
    starts_at: datetime,
    practitioner_id: UUID | None,
    now: datetime,
    store: Callable[[availability.Allocation], Awaitable[Held]],
) -> Held:
    """Pick a free practitioner, room and device and let `store` hold them (as a visit, an offer or a
    hold); when a concurrent visit took one of them first (the exclusion constraint says which), pick
    again without it."""
    phases = calendar.treatment.phases(areas)
    excluded: set[UUID] = set()
    for _ in range(ALLOCATION_ATTEMPTS):
        allocation = availability.allocate(
            clinic=clinic_calendar(calendar),
            phases=phases,
            resources=calendar.resources,
            starts_at=starts_at,
            now=now,
            practitioner_id=practitioner_id,
            exclude=frozenset(excluded),
        )
        if allocation is None:
            break
        try:
            return await store(allocation)
        except SlotTakenBy as taken:
            excluded.add(taken.resource_id)
    raise SlotTaken(
        "this time is no longer free",
        field="starts_at",
        details={"alternatives": await _alternatives(uow, calendar=calendar, areas=areas, after=starts_at, now=now)},
    )


async def _alternatives(
    uow: BookingUnitOfWork, *, calendar: Calendar, areas: tuple[Area, ...], after: datetime, now: datetime
) -> list[dict[str, str]]:
    """The next free starts in the following week, read afresh (the calendar we had is stale)."""
    first_day = after.astimezone(calendar.clinic.zone).date()
    fresh = await calendar_for(
        uow,
        clinic_id=calendar.clinic.id,
        treatment_id=calendar.treatment.id,
        first_day=first_day,
        last_day=first_day + timedelta(days=7),
    )
    later = availability.free_slots(
        clinic=clinic_calendar(fresh),
        phases=fresh.treatment.phases(areas),
        resources=fresh.resources,
        first_day=first_day,
        last_day=first_day + timedelta(days=7),
        now=now,
        after=after,
        limit=ALTERNATIVES,
    )
    return starts(later)


def starts(slots: list[availability.Slot]) -> list[dict[str, str]]:
    """Free starts as a refusal lists them (`details.alternatives`)."""
    return [{"starts_at": s.starts_at.isoformat(), "local_start": s.local_start.isoformat()} for s in slots]


async def record_patient(
    uow: BookingUnitOfWork, details: PatientDetails, *, now: datetime, returning_patient_id: UUID | None
) -> Patient:
    """A new patient's record, or a returning patient's (from their manage link) brought up to date,
    locked against an erasure meanwhile; either way notifications hears the contact details."""
    patient = details.as_patient(now=now)
    if returning_patient_id is None:
        await uow.patients.add(patient)
    else:
        try:
            earlier = await uow.patients.get(returning_patient_id, for_update=True)
        except PatientNotFound as error:
            raise PatientNotFound(
                "the link names a patient record that no longer exists; book without it", field="authorization"
            ) from error
        patient = earlier.booking_again(patient)
        await uow.patients.save(patient)
    uow.outbox.add(contact_changed(patient))
    return patient


def contact_changed(patient: Patient) -> catalogue.PatientContactChanged:
    """What notifications needs to reach the patient: contact details and consent, nothing else."""
    return catalogue.PatientContactChanged(
        patient_id=patient.id,
        revision=patient.revision,
        display_name=patient.display_name,
        email=patient.email,
        phone=patient.phone,
        preferred_channel=patient.preferred_channel,
        locale=patient.locale,
        care_messages_consent=patient.care_messages_consent,
        marketing_consent=patient.marketing_consent,
    )


def requested(appointment: Appointment, *, device_model: str | None) -> catalogue.AppointmentRequested:
    return catalogue.AppointmentRequested(
        device_model=device_model,
        appointment_id=appointment.id,
        clinic_id=appointment.clinic_id,
        patient_id=appointment.patient_id,
        treatment_id=appointment.treatment_id,
        practitioner_id=appointment.allocation.practitioner_id,
        room_id=appointment.allocation.room_id,
        device_id=appointment.allocation.device_id,
        areas=list(appointment.areas),
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        course_id=appointment.course_id,
        session_number=appointment.session_number,
    )


async def find_appointment(uow: BookingUnitOfWork, *, appointment_id: UUID) -> Appointment:
    async with uow:
        return await uow.appointments.get(appointment_id)
