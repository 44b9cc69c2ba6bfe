"""The waitlist, for a patient who found no time that suits: joining with their details, and the page
behind the link in an offer (a freed time held for them a while: accept, decline, or stop waiting)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from web.clients import Apis
from web.service.booking_flow import Choice, Details, Refused, Taken, clinic, patient_errors
from web.service.views import Clinic, Question, Slot


@dataclass(frozen=True)
class Joined:
    entry_id: UUID
    token: str


async def join(
    apis: Apis, choice: Choice, found: Clinic, details: Details, *, first_day: date, last_day: date,
    consent_version: str, visitor: str | None,
) -> Joined | Refused | Taken:  # fmt: skip
    body = {
        "treatment_id": str(choice.treatment_id), "areas": list(choice.areas), "from": str(first_day),
        "to": str(last_day), "patient": details.patient(),
        "consent": {"accepted": details.form.get("consent") == "yes", "text_version": consent_version},
    }  # fmt: skip
    if choice.practitioner_id:
        body["practitioner_id"] = str(choice.practitioner_id)
    answer = await apis.booking.send("POST", f"/clinics/{found.id}/waitlist", json=body, visitor=visitor)
    if answer.status == 201:
        return Joined(UUID(answer.body["entry"]["id"]), answer.body["waitlist_token"])
    if answer.status == 409:  # times are free after all: book one
        return Taken([Slot.of(s, found.zone) for s in (answer.body.get("details") or {}).get("alternatives", [])])
    return Refused(patient_errors(answer))


@dataclass(frozen=True)
class Offer:
    starts_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Entry:
    id: UUID
    status: str  # waiting, offered, booked, left, lapsed
    clinic: Clinic
    first_day: date
    last_day: date
    areas: tuple[str, ...]
    offer: Offer | None
    questions: list[Question]


class EntryLinkRefused(PermissionError):
    pass


async def entry(apis: Apis, entry_id: UUID, *, token: str, visitor: str | None) -> Entry:
    answer = await apis.booking.get(f"/waitlist/{entry_id}", token=token, visitor=visitor)
    if answer.status in (401, 403, 404):
        raise EntryLinkRefused(answer.code or str(answer.status))
    body = answer.expected()
    where = await clinic(apis, UUID(body["clinic_id"]), visitor=visitor)
    questions = (await apis.booking.get(f"/clinics/{where.id}/screening", visitor=visitor)).expected()
    offer = body.get("offer")
    return Entry(
        id=UUID(body["id"]), status=body["status"], clinic=where, first_day=date.fromisoformat(body["from"]),
        last_day=date.fromisoformat(body["to"]), areas=tuple(body["areas"]),
        offer=Offer(datetime.fromisoformat(offer["starts_at"]), datetime.fromisoformat(offer["expires_at"]))
        if offer else None,
        questions=[Question.of(q) for q in questions],
    )  # fmt: skip


@dataclass(frozen=True)
class Accepted:
    appointment_id: UUID
    manage_token: str


async def accept(
    apis: Apis, found: Entry, *, answers: dict[str, bool], token: str, visitor: str | None
) -> Accepted | Refused:
    answer = await apis.booking.send("POST", f"/waitlist/{found.id}/offer/accept",
                                     json={"screening_answers": answers}, token=token, visitor=visitor)  # fmt: skip
    if answer.ok:
        return Accepted(UUID(answer.body["appointment"]["id"]), answer.body["manage_token"])
    return Refused({"offer": str((answer.body or {}).get("message", ""))})


async def answer_offer(apis: Apis, found: Entry, *, action: str, token: str, visitor: str | None) -> Any:
    """`decline` (the next patient is offered the time) or `leave` (stop waiting altogether)."""
    path = f"/waitlist/{found.id}/offer/decline" if action == "decline" else f"/waitlist/{found.id}/leave"
    return await apis.booking.send("POST", path, token=token, visitor=visitor)
