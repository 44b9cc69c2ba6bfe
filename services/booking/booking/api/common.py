"""What every booking route shares: the unit of work, who may call, and the strict request base."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Annotated, Any, TypeVar
from uuid import UUID

import jwt
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from booking.adapters.uow import BookingUnitOfWork
from booking.domain.appointments import Actor, Appointment
from booking.service import scope
from booking.settings import BookingSettings
from clinic_shared import manage_links
from clinic_shared.auth import (
    STAFF_ROLES,
    CurrentPrincipal,
    Forbidden,
    NotAuthenticated,
    Principal,
    Role,
    TokenVerifier,
    require_clinic_roles,
    require_roles,
)
from clinic_shared.manage_links import HoldGrant, ManageGrant, WaitlistGrant
from clinic_shared.web import RequestModel


def unit_of_work(request: Request) -> BookingUnitOfWork:
    return BookingUnitOfWork(request.app.state.session_factory, producer=request.app.state.settings.service_name)


def settings(request: Request) -> BookingSettings:
    configured: BookingSettings = request.app.state.settings
    return configured


UnitOfWork = Annotated[BookingUnitOfWork, Depends(unit_of_work)]
Settings = Annotated[BookingSettings, Depends(settings)]
Admin = Annotated[Principal, require_roles(Role.ADMIN)]
ClinicEditor = Annotated[Principal, require_roles(Role.ADMIN, Role.CLINIC_MANAGER)]
Staff = Annotated[Principal, require_roles(*STAFF_ROLES)]
# For a route under /clinics/{clinic_id}: the role and the clinic, both checked before the body is read.
ClinicManager = Annotated[Principal, require_clinic_roles(Role.ADMIN, Role.CLINIC_MANAGER)]
ClinicStaff = Annotated[Principal, require_clinic_roles(*STAFF_ROLES)]
ClinicId = Annotated[UUID, Path(description="the clinic's id")]
PractitionerId = Annotated[UUID, Path(description="the practitioner's id")]
AppointmentId = Annotated[UUID, Path(description="the appointment's id")]
CourseId = Annotated[UUID, Path(description="the course's id")]
EntryId = Annotated[UUID, Path(description="the waitlist entry's id")]
HoldId = Annotated[UUID, Path(description="the hold's id")]


_BEARER = HTTPBearer(auto_error=False)
Grant = TypeVar("Grant", ManageGrant, WaitlistGrant)


async def _patient_link_or_staff(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    verify_link: Callable[[str, str], Grant],
    what: str,
) -> Grant | Principal:
    """The patient's link (HS256, signed by booking) or a staff token from the identity provider."""
    if credentials is None:
        raise NotAuthenticated(f"a {what} token or a staff token is required")
    token = credentials.credentials
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError as error:
        raise NotAuthenticated("the token is not a JWT") from error
    if algorithm == "HS256":
        configured: BookingSettings = request.app.state.settings
        return verify_link(configured.manage_link_secret.get_secret_value(), token)
    verifier: TokenVerifier = request.app.state.verifier
    return await verifier.verify(token)


async def _caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]
) -> ManageGrant | Principal:
    return await _patient_link_or_staff(request, credentials, manage_links.verify, "manage link")


async def _waitlist_caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]
) -> WaitlistGrant | Principal:
    return await _patient_link_or_staff(request, credentials, manage_links.verify_waitlist, "waitlist link")


async def _booking_caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]
) -> ManageGrant | Principal | None:
    """On a public booking route: no token (a new patient), the manage link of one of the patient's
    earlier visits (a returning patient), or a staff token (the front desk booking for a caller: a
    new record). An invalid token is refused, not ignored."""
    if credentials is None:
        return None
    caller = await _patient_link_or_staff(request, credentials, manage_links.verify, "manage link")
    if isinstance(caller, Principal) and caller.role not in STAFF_ROLES:
        raise Forbidden("book without a token, or with a manage link or a staff token")
    return caller


async def _hold_caller(
    hold_id: HoldId, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]
) -> HoldGrant:
    """The hold's own token, and nothing else: a hold names nobody whom a link or staff could stand for."""
    if credentials is None:
        raise NotAuthenticated("the hold token is required")
    configured: BookingSettings = request.app.state.settings
    grant = manage_links.verify_hold(configured.manage_link_secret.get_secret_value(), credentials.credentials)
    if grant.hold_id != hold_id:
        raise Forbidden("this token is for another hold", field="hold_id")
    return grant


Caller = Annotated[ManageGrant | Principal, Depends(_caller)]
HoldCaller = Annotated[HoldGrant, Depends(_hold_caller)]
BookingCaller = Annotated[ManageGrant | Principal | None, Depends(_booking_caller)]
WaitlistCaller = Annotated[WaitlistGrant | Principal, Depends(_waitlist_caller)]


# Callers admitted to one visit, course or waitlist entry before the body is read: its patient's link,
# or staff in the given roles at its clinic. The use case decides again with the record in hand (and
# learns whether the patient or staff acts); these answer an outsider first, whatever they sent.


async def _staff_at(principal: Principal, staff: Collection[Role], clinic_of: Callable[[], Awaitable[UUID]]) -> None:
    if principal.role not in staff:
        raise Forbidden(f"requires one of: {', '.join(sorted(staff))}")
    if not principal.works_at_every_clinic:
        principal.ensure_clinic(await clinic_of())


def appointment_caller(*staff: Role, patient: bool = True) -> Any:
    """`patient`: whether the patient's own link may do this at all (cancel, move) or staff only."""

    async def admit(appointment_id: AppointmentId, caller: Caller, uow: UnitOfWork) -> ManageGrant | Principal:
        if isinstance(caller, ManageGrant):
            if not patient:
                raise Forbidden(f"requires one of: {', '.join(sorted(staff))}")
            if caller.appointment_id != appointment_id:
                raise Forbidden("this link is for another appointment", field="appointment_id")
            return caller

        async def clinic() -> UUID:
            return (await scope.owner_of_appointment(uow, appointment_id=appointment_id)).clinic_id

        await _staff_at(caller, staff, clinic)
        return caller

    return Depends(admit)


def course_caller(*staff: Role) -> Any:
    async def admit(course_id: CourseId, caller: Caller, uow: UnitOfWork) -> ManageGrant | Principal:
        if isinstance(caller, ManageGrant):
            if caller.patient_id != (await scope.owner_of_course(uow, course_id=course_id)).patient_id:
                raise Forbidden("this link belongs to another patient", field="course_id")
            return caller

        async def clinic() -> UUID:
            return (await scope.owner_of_course(uow, course_id=course_id)).clinic_id

        await _staff_at(caller, staff, clinic)
        return caller

    return Depends(admit)


def entry_caller(*staff: Role) -> Any:
    async def admit(entry_id: EntryId, caller: WaitlistCaller, uow: UnitOfWork) -> WaitlistGrant | Principal:
        if isinstance(caller, WaitlistGrant):
            if caller.entry_id != entry_id:
                raise Forbidden("this link is for another waitlist entry", field="entry_id")
            return caller

        async def clinic() -> UUID:
            return (await scope.owner_of_entry(uow, entry_id=entry_id)).clinic_id

        await _staff_at(caller, staff, clinic)
        return caller

    return Depends(admit)


def practitioner_caller(*roles: Role) -> Any:
    """Staff in `roles` of a clinic the practitioner works at (admins: any), before the body is read."""

    async def admit(practitioner_id: PractitionerId, principal: CurrentPrincipal, uow: UnitOfWork) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"requires one of: {', '.join(sorted(roles))}")
        if not principal.works_at_every_clinic and not (
            await scope.clinics_of_practitioner(uow, practitioner_id=practitioner_id) & principal.clinic_ids
        ):
            raise Forbidden("this practitioner does not work at your clinics", field="practitioner_id")
        return principal

    return Depends(admit)


def ensure_staff_at(caller: ManageGrant | Principal | None, clinic_id: UUID) -> None:
    """On a public route: staff acting for a caller act at their own clinics only."""
    if isinstance(caller, Principal):
        caller.ensure_clinic(clinic_id)


async def _booking_caller_here(clinic_id: ClinicId, caller: BookingCaller) -> ManageGrant | Principal | None:
    ensure_staff_at(caller, clinic_id)
    return caller


# A public route under /clinics/{clinic_id}: anyone, but staff only at their own clinics (before the body).
BookingCallerHere = Annotated[ManageGrant | Principal | None, Depends(_booking_caller_here)]


def actor_for(
    caller: ManageGrant | Principal, appointment: Appointment, *, staff: Collection[Role], patient: bool = True
) -> Actor:
    """Whether `caller` may act on `appointment`, and as whom: the patient through the manage link of
    this very appointment (where `patient` allows it), or staff of its clinic in one of the `staff`
    roles (else 403)."""
    if isinstance(caller, ManageGrant):
        if not patient:
            raise Forbidden(f"requires one of: {', '.join(sorted(staff))}")
        if caller.appointment_id != appointment.id:
            raise Forbidden("this link is for another appointment", field="appointment_id")
        return "patient"
    if caller.role not in staff:
        raise Forbidden(f"requires one of: {', '.join(sorted(staff))}")
    caller.ensure_clinic(appointment.clinic_id)
    return "staff"


class Strict(RequestModel):
    """Booking's request bodies (numbers use StrictInt, so a boolean or a numeric string is refused)."""


def patients_link(
    caller: ManageGrant | WaitlistGrant | Principal | None, appointment: Appointment, settings: BookingSettings
) -> str | None:
    """A manage link token for the appointment, for its patient only: staff acting for a patient get
    none (the link also lets its holder book on the patient's record; the patient gets theirs in the
    confirmation)."""
    if isinstance(caller, Principal):
        return None
    return manage_links.issue(
        settings.manage_link_secret.get_secret_value(),
        appointment_id=appointment.id,
        patient_id=appointment.patient_id,
        visit_ends_at=appointment.ends_at,
    )
