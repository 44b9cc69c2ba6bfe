"""A patient's own visit, through the link in their messages: what it is, what they may still do online
(until the clinic's cut-off), and doing it. The link's token is the patient's credential to this one
visit; booking decides what it allows, these functions only ask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from web.clients import Apis
from web.service.booking_flow import Taken
from web.service.views import Clinic, Practitioner, Slot, Treatment

CHANGEABLE = ("requested", "confirmed")


class LinkRefused(PermissionError):
    """Booking refused the token: expired, for another visit, or tampered with."""


@dataclass(frozen=True)
class Visit:
    id: UUID
    status: str
    starts_at: datetime
    ends_at: datetime
    areas: tuple[str, ...]
    clinic: Clinic
    treatment: Treatment | None
    practitioner: Practitioner | None
    course_id: UUID | None
    session_number: int | None

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(self.clinic.zone)

    @property
    def cutoff(self) -> datetime:
        """Until when the patient may move or cancel online."""
        return self.starts_at - timedelta(hours=self.clinic.cancellation_cutoff_hours)

    @property
    def changeable_online(self) -> bool:
        return self.status in CHANGEABLE and datetime.now(UTC) < self.cutoff

    @property
    def movable_online(self) -> bool:
        return self.status == "confirmed" and self.changeable_online

    @property
    def waiting(self) -> bool:
        return self.status == "requested"


async def visit(apis: Apis, appointment_id: UUID, *, token: str, visitor: str | None) -> Visit:
    answer = await apis.booking.get(f"/appointments/{appointment_id}", token=token, visitor=visitor)
    if answer.status in (401, 403, 404):
        raise LinkRefused(answer.code or str(answer.status))
    body = answer.expected()
    clinic_id = body["clinic_id"]
    clinic = Clinic.of((await apis.booking.get(f"/clinics/{clinic_id}", visitor=visitor)).expected())
    treatments = (await apis.booking.get(f"/clinics/{clinic_id}/treatments", visitor=visitor)).expected()
    practitioners = (await apis.booking.get(f"/clinics/{clinic_id}/practitioners", visitor=visitor)).expected()
    return Visit(
        id=UUID(body["id"]), status=body["status"], starts_at=datetime.fromisoformat(body["starts_at"]),
        ends_at=datetime.fromisoformat(body["ends_at"]), areas=tuple(body["areas"]), clinic=clinic,
        treatment=next((Treatment.of(t) for t in treatments if t["id"] == body["treatment_id"]), None),
        practitioner=next((Practitioner.of(p) for p in practitioners if p["id"] == body["practitioner_id"]), None),
        course_id=UUID(body["course_id"]) if body.get("course_id") else None, session_number=body.get("session_number"),
    )  # fmt: skip


@dataclass(frozen=True)
class Refusal:
    """Booking said no, and why (too late online, no longer possible in this status, ...)."""

    code: str
    message: str


async def cancel(apis: Apis, appointment: Visit, *, token: str, visitor: str | None) -> Refusal | None:
    answer = await apis.booking.send("POST", f"/appointments/{appointment.id}/cancel", json={}, token=token,
                                     visitor=visitor)  # fmt: skip
    if answer.ok:
        return None
    return Refusal(answer.code or "refused", str((answer.body or {}).get("message", "")))


@dataclass(frozen=True)
class Moved:
    token: str  # the visit's fresh link token (valid until after its new time)
    appointment_id: UUID | None = None  # a new visit (the next session of a course); None: the same one


async def reschedule(
    apis: Apis, appointment: Visit, *, starts_at: str, token: str, visitor: str | None
) -> Moved | Taken | Refusal:
    answer = await apis.booking.send("POST", f"/appointments/{appointment.id}/reschedule",
                                     json={"starts_at": starts_at}, token=token, visitor=visitor)  # fmt: skip
    if answer.ok:
        return Moved(answer.body.get("manage_token") or token)
    if answer.code == "slot_taken":
        alternatives = (answer.body.get("details") or {}).get("alternatives", [])
        return Taken([Slot.of(s, appointment.clinic.zone) for s in alternatives])
    return Refusal(answer.code or "refused", str((answer.body or {}).get("message", "")))


def search_of(appointment: Visit) -> dict[str, Any]:
    """The same treatment and areas, for the day picker of a move."""
    assert appointment.treatment is not None
    return {"treatment_id": str(appointment.treatment.id), "areas": list(appointment.areas)}


@dataclass(frozen=True)
class Choices:
    """The patient's message choices per channel (None: no address on file for it)."""

    email: dict[str, bool] | None
    sms: dict[str, bool] | None


async def message_choices(apis: Apis, *, token: str, visitor: str | None) -> Choices:
    answer = await apis.notifications.get("/preferences", token=token, visitor=visitor)
    if answer.status in (401, 403, 404):
        raise LinkRefused(answer.code or str(answer.status))
    body = answer.expected()
    return Choices(email=body.get("email"), sms=body.get("sms"))


async def choose_messages(apis: Apis, chosen: Choices, *, token: str, visitor: str | None) -> Choices:
    body = {channel: value for channel, value in (("email", chosen.email), ("sms", chosen.sms)) if value is not None}
    answer = await apis.notifications.send("PUT", "/preferences", json=body, token=token, visitor=visitor)
    if answer.status in (401, 403, 404):
        raise LinkRefused(answer.code or str(answer.status))
    saved = answer.expected()
    return Choices(email=saved.get("email"), sms=saved.get("sms"))


@dataclass(frozen=True)
class Course:
    id: UUID
    sessions_planned: int
    sessions_booked: int
    earliest: datetime | None  # the window for the next session (None: all booked)
    latest: datetime | None

    @property
    def next_number(self) -> int | None:
        return self.sessions_booked + 1 if self.earliest and self.sessions_booked < self.sessions_planned else None


async def course(apis: Apis, course_id: UUID, *, token: str, visitor: str | None) -> Course:
    body = (await apis.booking.get(f"/courses/{course_id}", token=token, visitor=visitor)).expected()

    def moment(name: str) -> datetime | None:
        return datetime.fromisoformat(body[name]) if body.get(name) else None

    return Course(
        id=course_id, sessions_planned=body["sessions_planned"], sessions_booked=len(body["sessions"]),
        earliest=moment("next_session_earliest"), latest=moment("next_session_latest"),
    )  # fmt: skip


async def course_times(apis: Apis, found: Course, clinic: Clinic, *, token: str, visitor: str | None) -> list[Slot]:
    answer = await apis.booking.get(f"/courses/{found.id}/availability", token=token, visitor=visitor)
    return [Slot.of(s, clinic.zone) for s in answer.expected()]


async def book_session(
    apis: Apis, found: Course, clinic: Clinic, *, starts_at: str, token: str, visitor: str | None
) -> Moved | Taken | Refusal:
    """`Moved` carries the new visit's own link (its token opens the new visit)."""
    answer = await apis.booking.send("POST", f"/courses/{found.id}/sessions", json={"starts_at": starts_at},
                                     token=token, visitor=visitor)  # fmt: skip
    if answer.status == 201:
        return Moved(answer.body["manage_token"], UUID(answer.body["appointment"]["id"]))
    if answer.code == "slot_taken":
        return Taken([Slot.of(s, clinic.zone) for s in (answer.body.get("details") or {}).get("alternatives", [])])
    return Refusal(answer.code or "refused", str((answer.body or {}).get("message", "")))
