"""The waitlist: a patient joins it when no time suits, sees and answers the offer of a freed time
through their waitlist link, or leaves; staff see their clinic's queue."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import partial
from typing import Annotated, Any, Self
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, StrictBool

from booking.api.common import (
    BookingCallerHere,
    ClinicId,
    ClinicStaff,
    EntryId,
    Settings,
    Strict,
    UnitOfWork,
    WaitlistCaller,
    entry_caller,
    patients_link,
)
from booking.api.visits import AppointmentOut, BookedOut, ConsentIn, PatientIn
from booking.domain.appointments import Actor, Appointment
from booking.domain.areas import Area
from booking.domain.waitlist import EntryStatus, WaitlistEntry
from booking.service import waitlist as service
from clinic_shared import manage_links
from clinic_shared.auth import STAFF_ROLES, Forbidden, Principal, Role
from clinic_shared.manage_links import ManageGrant, WaitlistGrant
from clinic_shared.pagination import Page, PageParams
from clinic_shared.ratelimit import PUBLIC_RATE_LIMIT
from clinic_shared.web import ERROR_RESPONSES, SaneDate, error_response

router = APIRouter(tags=["waitlist"], responses=ERROR_RESPONSES)
UNKNOWN: dict[int | str, dict[str, Any]] = {404: error_response("Unknown waitlist entry")}
# Who may answer for a patient (e.g. on the phone): the front desk and up.
ANSWERERS = (Role.FRONT_DESK, Role.CLINIC_MANAGER, Role.ADMIN)


def entry_actor(
    caller: WaitlistGrant | Principal, entry: WaitlistEntry, *, staff: tuple[Role, ...] = ANSWERERS
) -> Actor:
    if isinstance(caller, WaitlistGrant):
        if caller.entry_id != entry.id:
            raise Forbidden("this link is for another waitlist entry", field="entry_id")
        return "patient"
    if caller.role not in staff:
        raise Forbidden(f"requires one of: {', '.join(sorted(staff))}")
    caller.ensure_clinic(entry.clinic_id)
    return "staff"


class JoinIn(Strict):
    treatment_id: UUID
    areas: list[Area] = Field(min_length=1, max_length=4)
    first_day: SaneDate = Field(alias="from", description="first local date the patient could come")
    last_day: SaneDate = Field(
        alias="to",
        description="last local date (inclusive; 92 days at the most, within the clinic's booking horizon)",
    )
    practitioner_id: UUID | None = Field(default=None, description="leave out to take any practitioner")
    patient: PatientIn
    consent: ConsentIn


class OfferOut(BaseModel):
    appointment_id: UUID
    starts_at: datetime = Field(description="UTC")
    ends_at: datetime
    practitioner_id: UUID
    expires_at: datetime = Field(description="the time is held for the patient until then")

    @classmethod
    def of(cls, offer: Appointment) -> Self:
        assert offer.offer_expires_at is not None
        return cls(
            appointment_id=offer.id,
            starts_at=offer.starts_at.astimezone(UTC),
            ends_at=offer.ends_at.astimezone(UTC),
            practitioner_id=offer.allocation.practitioner_id,
            expires_at=offer.offer_expires_at.astimezone(UTC),
        )


class EntryOut(BaseModel):
    id: UUID
    clinic_id: UUID
    treatment_id: UUID
    areas: list[Area]
    practitioner_id: UUID | None
    first_day: date = Field(serialization_alias="from")
    last_day: date = Field(serialization_alias="to")
    status: EntryStatus
    joined_at: datetime
    offers_made: int
    offer: OfferOut | None = Field(default=None, description="the time held for the patient now, if any")

    @classmethod
    def of(cls, entry: WaitlistEntry, offer: Appointment | None = None) -> Self:
        return cls(
            id=entry.id,
            clinic_id=entry.clinic_id,
            treatment_id=entry.treatment_id,
            areas=list(entry.areas),
            practitioner_id=entry.practitioner_id,
            first_day=entry.first_day,
            last_day=entry.last_day,
            status=entry.status,
            joined_at=entry.joined_at,
            offers_made=entry.offers_made,
            offer=OfferOut.of(offer) if offer else None,
        )


class JoinedOut(BaseModel):
    entry: EntryOut
    waitlist_token: str | None = Field(
        description="bearer token for this entry only (see, accept or decline offers, leave); null when staff "
        "put the patient on the list"
    )
    waitlist_path: str


class AcceptIn(Strict):
    screening_answers: dict[str, StrictBool] = Field(
        default_factory=dict, max_length=30, description="the clinic's screening questions, by key"
    )


@router.post(
    "/clinics/{clinic_id}/waitlist",
    status_code=201,
    summary="Wait for a time to free up",
    dependencies=[PUBLIC_RATE_LIMIT],
    response_model_by_alias=True,
    responses={
        404: error_response("Unknown clinic, treatment or practitioner"),
        409: error_response("Times are free in these days already (`details.alternatives` lists some): book one"),
        401: error_response("A bearer token was sent and is not valid"),
        403: error_response("A token that is neither a manage link nor a staff token, or staff of another clinic"),
        422: error_response("Bad request, or days past the clinic's horizon; `field` names it"),
        429: error_response("Too many requests; see Retry-After"),
    },
)
async def join(
    clinic_id: ClinicId, body: JoinIn, uow: UnitOfWork, settings: Settings, caller: BookingCallerHere
) -> JoinedOut:
    """When a matching time frees up (a cancellation, a moved visit), the first patient waiting is
    offered it and it is held for them for a while; they accept or decline through their waitlist
    link. Public: no token for a new patient, the manage link of an earlier visit for a returning one
    (the entry goes on their record), or a staff token for the front desk (no link is returned)."""
    entry = await service.join_waitlist(
        uow,
        clinic_id=clinic_id,
        treatment_id=body.treatment_id,
        areas=tuple(dict.fromkeys(body.areas)),
        practitioner_id=body.practitioner_id,
        first_day=body.first_day,
        last_day=body.last_day,
        patient=body.patient.details(body.consent),
        now=datetime.now(UTC),
        returning_patient_id=caller.patient_id if isinstance(caller, ManageGrant) else None,
    )
    token = None
    if not isinstance(caller, Principal):  # the entry's link is the patient's, not the front desk's
        token = manage_links.issue_waitlist(
            settings.manage_link_secret.get_secret_value(),
            entry_id=entry.id,
            patient_id=entry.patient_id,
            last_day=entry.last_day,
        )
    return JoinedOut(entry=EntryOut.of(entry), waitlist_token=token, waitlist_path=f"/waitlist/{entry.id}")


@router.get("/waitlist/{entry_id}", summary="A waitlist entry and its open offer", responses=UNKNOWN)
async def get_entry(entry_id: EntryId, uow: UnitOfWork, caller: WaitlistCaller) -> EntryOut:
    """For the patient through the entry's waitlist link, or staff of its clinic."""
    view = await service.view_entry(
        uow, entry_id=entry_id, authorize=partial(entry_actor, caller, staff=tuple(STAFF_ROLES))
    )
    return EntryOut.of(view.entry, view.offer)


@router.post(
    "/waitlist/{entry_id}/offer/accept",
    summary="Take the offered time",
    responses={**UNKNOWN, 409: error_response("No open offer, or it has lapsed"), 422: error_response("Screening")},
)
async def accept(
    entry_id: EntryId,
    body: AcceptIn,
    uow: UnitOfWork,
    caller: Annotated[WaitlistGrant | Principal, entry_caller(*ANSWERERS)],
    settings: Settings,
) -> BookedOut:
    """The held time becomes a booking request, screened now; it is confirmed once the clinic's
    supplies are reserved. Answers with the appointment's own manage link."""
    appointment = await service.accept_offer(
        uow,
        entry_id=entry_id,
        authorize=partial(entry_actor, caller),
        screening_answers=body.screening_answers,
        now=datetime.now(UTC),
    )
    token = patients_link(caller, appointment, settings)
    return BookedOut(
        appointment=AppointmentOut.of(appointment), manage_token=token, manage_path=f"/manage/{appointment.id}"
    )


@router.post(
    "/waitlist/{entry_id}/offer/decline",
    summary="Let the offered time go to the next patient",
    responses={**UNKNOWN, 409: error_response("No open offer")},
)
async def decline(entry_id: EntryId, uow: UnitOfWork, caller: WaitlistCaller) -> EntryOut:
    """The patient keeps their place in the queue for other times."""
    entry = await service.decline_offer(uow, entry_id=entry_id, authorize=partial(entry_actor, caller))
    return EntryOut.of(entry)


@router.post(
    "/waitlist/{entry_id}/leave",
    summary="Stop waiting",
    responses={**UNKNOWN, 409: error_response("Already booked, left or lapsed")},
)
async def leave(entry_id: EntryId, uow: UnitOfWork, caller: WaitlistCaller) -> EntryOut:
    """An open offer is withdrawn and its time freed for the next patient."""
    entry = await service.leave_waitlist(uow, entry_id=entry_id, authorize=partial(entry_actor, caller))
    return EntryOut.of(entry)


@router.get(
    "/clinics/{clinic_id}/waitlist",
    summary="The clinic's waitlist",
    tags=["staff views"],
    responses={404: error_response("Unknown clinic")},
)
async def clinic_waitlist(
    clinic_id: ClinicId,
    uow: UnitOfWork,
    principal: ClinicStaff,
    page: PageParams,
    status: Annotated[list[EntryStatus] | None, Query(description="any of these statuses (repeatable)")] = None,
) -> Page[EntryOut]:
    """Entries in the order patients joined (the order offers go in), for staff of the clinic."""
    entries = await service.list_entries(
        uow, clinic_id=clinic_id, statuses=tuple(status or ()), offset=page.offset, limit=page.fetch
    )
    return Page[EntryOut].of([EntryOut.of(entry) for entry in entries], page)
