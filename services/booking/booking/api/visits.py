"""Patients' routes: free times, booking a visit, and reading it back through the manage link."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, Field, StrictBool, StrictInt

from booking.api.common import (
    BookingCaller,
    Caller,
    ClinicId,
    Settings,
    Strict,
    UnitOfWork,
    actor_for,
    ensure_staff_at,
    patients_link,
)
from booking.domain.appointments import Appointment, Status
from booking.domain.areas import Area
from booking.domain.holds import Hold
from booking.domain.patients import Concern, HealthDetails
from booking.service import bookings
from booking.service import visits as service
from booking.settings import BookingSettings
from clinic_shared import manage_links
from clinic_shared.auth import STAFF_ROLES, NotAuthenticated, Principal
from clinic_shared.idempotency import HEADER, fingerprint
from clinic_shared.manage_links import HoldGrant, LinkExpired, ManageGrant
from clinic_shared.ratelimit import PUBLIC_RATE_LIMIT
from clinic_shared.web import error_response

router = APIRouter(tags=["visits"])


class SlotOut(BaseModel):
    starts_at: datetime = Field(description="UTC")
    local_start: datetime = Field(description="the clinic's wall-clock time, with its UTC offset")
    practitioner_ids: list[UUID]


class AvailabilityOut(BaseModel):
    clinic_id: UUID
    timezone: str
    treatment_id: UUID
    areas: list[Area]
    slots: list[SlotOut]


@router.get(
    "/clinics/{clinic_id}/availability",
    summary="Free start times",
    dependencies=[PUBLIC_RATE_LIMIT],
    response_model=AvailabilityOut,
    responses={
        404: error_response("Unknown clinic, treatment or practitioner"),
        422: error_response("Bad search; `field` names it"),
        429: error_response("Too many searches; see Retry-After"),
    },
)
async def availability(
    clinic_id: ClinicId,
    uow: UnitOfWork,
    treatment_id: Annotated[UUID, Query()],
    areas: Annotated[list[Area], Query(min_length=1, max_length=4)],
    first_day: Annotated[date, Query(alias="from", description="first local date")],
    last_day: Annotated[date, Query(alias="to", description="last local date (inclusive, at most 92 days)")],
    practitioner_id: Annotated[UUID | None, Query()] = None,
) -> Response:
    """Every start time at which a credentialed practitioner, a room and a device are free for the
    whole visit (numbing, procedure, cleaning), honouring opening hours, closures, working hours,
    time off, minimum notice and the booking horizon. Public."""
    clinic, slots = await service.find_availability(
        uow,
        clinic_id=clinic_id,
        treatment_id=treatment_id,
        areas=tuple(dict.fromkeys(areas)),
        first_day=first_day,
        last_day=last_day,
        practitioner_id=practitioner_id,
        now=datetime.now(UTC),
    )
    # Validated in one pass and serialised here: a model returned to FastAPI would be validated again,
    # and a 90-day search has thousands of slots. `response_model` above still documents the answer.
    answer = AvailabilityOut.model_validate(
        {
            "clinic_id": clinic.id,
            "timezone": clinic.timezone,
            "treatment_id": treatment_id,
            "areas": list(dict.fromkeys(areas)),
            "slots": [
                {"starts_at": s.starts_at, "local_start": s.local_start, "practitioner_ids": s.practitioner_ids}
                for s in slots
            ],
        }
    )
    return Response(answer.model_dump_json(), media_type="application/json")


class ConsentIn(Strict):
    accepted: Literal[True] = Field(description="the patient read and accepted the consent text")
    text_version: str = Field(min_length=1, max_length=32, examples=["2026-11"])


class PatientIn(Strict):
    display_name: str = Field(min_length=1, max_length=120)
    email: str | None = Field(default=None, max_length=320, examples=["sam@example.org"])
    phone: str | None = Field(default=None, max_length=32, examples=["+31 6 1234 5678"])
    preferred_channel: Literal["email", "sms"] = "email"
    locale: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    care_messages_consent: StrictBool = Field(description="confirmations, reminders and aftercare")
    marketing_consent: StrictBool = Field(default=False, description="e.g. suggestions to book the next session")
    date_of_birth: date | None = None
    skin_type: Literal[1, 2, 3, 4, 5, 6] | None = Field(default=None, description="Fitzpatrick I-VI")
    concerns: list[Concern] = Field(default_factory=list, max_length=7)

    def details(self, consent: ConsentIn) -> service.PatientDetails:
        """What the booking (or the waitlist) records of the patient, health details apart."""
        return service.PatientDetails(
            consent_text_version=consent.text_version,
            health=HealthDetails(
                date_of_birth=self.date_of_birth,
                skin_type=self.skin_type,
                concerns=tuple(dict.fromkeys(self.concerns)),
            ),
            **self.model_dump(exclude={"date_of_birth", "skin_type", "concerns"}),
        )


class BookingIn(Strict):
    clinic_id: UUID
    treatment_id: UUID
    areas: list[Area] = Field(min_length=1, max_length=4)
    starts_at: AwareDatetime = Field(description="a start from the availability search, with its UTC offset")
    practitioner_id: UUID | None = Field(default=None, description="leave out to take any free practitioner")
    patient: PatientIn
    consent: ConsentIn
    screening_answers: dict[str, StrictBool] = Field(
        default_factory=dict, max_length=30, description="the clinic's screening questions, by key"
    )
    course_sessions: StrictInt | None = Field(
        default=None, ge=2, le=10, description="open a course of this many sessions; this visit is session 1"
    )
    hold_token: str | None = Field(
        default=None,
        max_length=2048,
        description="the token of a hold of this time (`POST /holds`): the held time becomes the visit. If the "
        "hold lapsed or was released meanwhile, the time is booked as without it",
    )


class AppointmentOut(BaseModel):
    """Times are UTC; the clinic's time zone turns them into its wall-clock time."""

    id: UUID
    clinic_id: UUID
    treatment_id: UUID
    practitioner_id: UUID
    areas: list[Area]
    status: Status
    starts_at: datetime
    ends_at: datetime
    screening_outcome: Literal["clear", "review"] | None = Field(
        default=None, description="staff only: `review` when a screening answer asks a practitioner to look first"
    )
    course_id: UUID | None = None
    session_number: int | None = None

    @classmethod
    def of_hold(cls, hold: Hold) -> Self:
        """A hold, as staff see it on the schedule: the time is taken (status `held`), nobody named yet."""
        return cls(
            id=hold.id,
            clinic_id=hold.clinic_id,
            treatment_id=hold.treatment_id,
            practitioner_id=hold.allocation.practitioner_id,
            areas=list(hold.areas),
            status=hold.status,
            starts_at=hold.starts_at.astimezone(UTC),
            ends_at=hold.ends_at.astimezone(UTC),
        )

    @classmethod
    def of(cls, appointment: Appointment, *, for_staff: bool = False) -> Self:
        return cls(
            id=appointment.id,
            clinic_id=appointment.clinic_id,
            treatment_id=appointment.treatment_id,
            practitioner_id=appointment.allocation.practitioner_id,
            areas=list(appointment.areas),
            status=appointment.status,
            starts_at=appointment.starts_at.astimezone(UTC),
            ends_at=appointment.ends_at.astimezone(UTC),
            screening_outcome=appointment.screening_outcome if for_staff else None,
            course_id=appointment.course_id,
            session_number=appointment.session_number,
        )


class BookedOut(BaseModel):
    appointment: AppointmentOut
    manage_token: str | None = Field(
        description="bearer token for this appointment only (view, reschedule, cancel); null when staff "
        "acted for the patient, who receives their link in the confirmation"
    )
    manage_path: str = Field(description="where the patient's page for this appointment lives")


@router.post(
    "/appointments",
    status_code=201,
    summary="Book a visit",
    dependencies=[PUBLIC_RATE_LIMIT],
    response_model=BookedOut,
    responses={
        404: error_response(
            "Unknown clinic, treatment or practitioner; or the manage link's patient record no longer exists "
            "(`patient_not_found`, erased: book without the link)"
        ),
        401: error_response("A bearer token was sent and is not valid, or the `hold_token` is not"),
        403: error_response("A token that is neither a manage link nor a staff token, or staff of another clinic"),
        409: error_response(
            "The time was taken (`details.alternatives` lists free ones), the key is in use, the patient "
            "record changed meanwhile (`patient_changed_concurrently`: try again), or the hold was booked "
            "already (`hold_already_booked`)"
        ),
        422: error_response(
            "Bad request, an Idempotency-Key reused with another body, or a hold for another time or treatment "
            "(`hold_mismatch`); `field` names it"
        ),
        429: error_response("Too many requests; see Retry-After"),
    },
)
async def book(
    request: Request,
    body: BookingIn,
    uow: UnitOfWork,
    settings: Settings,
    caller: BookingCaller,
    idempotency_key: Annotated[str | None, Header(alias=HEADER, max_length=255)] = None,
) -> JSONResponse:
    """Holds the time (no two visits can share a practitioner, room or device) and records the visit
    as `requested`; it is confirmed once the clinic's supplies are reserved, or rejected. Send an
    `Idempotency-Key` to retry safely: the same caller, key and body give the same answer (keys are
    scoped to the caller: the patient's link, the staff member, or an anonymous caller). A returning
    patient sends the manage link token of an earlier visit as the bearer token: the visit is booked on
    the same patient record, with the details given now (no token: a new record). Staff booking for a
    caller get no manage link (`manage_token` is null): it would be a credential to that record. With
    a `hold_token` (from `POST /holds`) for this clinic, treatment, areas and start (and practitioner,
    if named), the held time becomes the visit, whoever else is trying for it; a hold that lapsed or
    was released is no hold: the time is booked as without it, if it is still free."""

    ensure_staff_at(caller, body.clinic_id)
    returning = caller if isinstance(caller, ManageGrant) else None
    hold = _hold_of(body.hold_token, settings)

    def answer(appointment: Appointment) -> dict[str, Any]:
        booked = BookedOut(
            appointment=AppointmentOut.of(appointment),
            manage_token=patients_link(caller, appointment, settings),
            manage_path=f"/manage/{appointment.id}",
        )
        return booked.model_dump(mode="json")

    booking = await bookings.book_visit(
        uow,
        clinic_id=body.clinic_id,
        treatment_id=body.treatment_id,
        areas=tuple(dict.fromkeys(body.areas)),
        starts_at=body.starts_at,
        practitioner_id=body.practitioner_id,
        patient=body.patient.details(body.consent),
        screening_answers=body.screening_answers,
        course_sessions=body.course_sessions,
        now=datetime.now(UTC),
        returning_patient_id=returning.patient_id if returning else None,
        hold_id=hold.hold_id if hold else None,
        idempotency=bookings.IdempotencyRequest(
            scope=_idempotency_scope(caller),
            route="POST /appointments",
            key=idempotency_key,
            fingerprint=fingerprint(await request.body()),
        )
        if idempotency_key is not None
        else None,
        answer=answer,
    )
    return JSONResponse(booking.body, status_code=booking.status_code)


@router.get(
    "/appointments/{appointment_id}",
    summary="One appointment",
    responses={
        401: error_response("No valid token"),
        403: error_response("Not this appointment"),
        404: error_response("Unknown"),
    },
)
async def get_appointment(appointment_id: UUID, uow: UnitOfWork, reader: Caller) -> AppointmentOut:
    """For the patient through the manage link of this appointment, or for staff of its clinic."""
    appointment = await service.find_appointment(uow, appointment_id=appointment_id)
    actor = actor_for(reader, appointment, staff=STAFF_ROLES)
    return AppointmentOut.of(appointment, for_staff=actor == "staff")


def _hold_of(token: str | None, settings: BookingSettings) -> HoldGrant | None:
    """The hold the booking names. A token past its expiry names a hold that is over for certain: the
    time is booked as without it. Any other invalid token is refused."""
    if token is None:
        return None
    try:
        return manage_links.verify_hold(settings.manage_link_secret.get_secret_value(), token)
    except LinkExpired:
        return None
    except NotAuthenticated as error:
        raise NotAuthenticated(error.message, field="hold_token") from error


def _idempotency_scope(caller: ManageGrant | Principal | None) -> str:
    """Whose keys these are: one patient's, one staff member's, or the anonymous public's."""
    if isinstance(caller, ManageGrant):
        return f"patient:{caller.patient_id}"
    if isinstance(caller, Principal):
        return f"staff:{caller.subject}"
    return "anonymous"
