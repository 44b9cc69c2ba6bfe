"""A patient's booking, step by step: what they chose (clinic, treatment, areas, practitioner and their
screening answers) travels in the forms from step to step and is never stored here, so screening
answers stay with booking alone; the held time and its token live in the patient's session."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from web.clients import Answer, Apis
from web.i18n import N_
from web.service.views import Clinic, Day, Practitioner, Question, Slot, Treatment

# How many days the day picker shows at once; the first one with free times is shown first.
DAYS_SHOWN = 14


class ChoiceInvalid(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class ClinicNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Choice:
    """What the patient chose so far; `fields()` are the hidden inputs that carry it to the next step."""

    clinic_id: UUID
    treatment_id: UUID
    areas: tuple[str, ...]
    practitioner_id: UUID | None = None
    answers: Mapping[str, bool] = field(default_factory=dict)

    @classmethod
    def of(cls, form: Mapping[str, Any], areas: list[str]) -> Choice:
        errors = {}
        try:
            clinic_id, treatment_id = UUID(str(form.get("clinic_id"))), UUID(str(form.get("treatment_id")))
        except ValueError:
            raise ChoiceInvalid({"treatment_id": "choose a treatment"}) from None
        if not areas:
            errors["areas"] = "choose at least one area"
        practitioner = str(form.get("practitioner_id") or "")
        try:
            practitioner_id = UUID(practitioner) if practitioner else None
        except ValueError:
            practitioner_id, errors["practitioner_id"] = None, "choose a practitioner or no preference"
        if errors:
            raise ChoiceInvalid(errors)
        answers = {
            key.removeprefix("answer."): value == "yes"
            for key, value in form.items()
            if key.startswith("answer.") and value in ("yes", "no")
        }
        return cls(clinic_id, treatment_id, tuple(dict.fromkeys(areas)), practitioner_id, answers)

    def fields(self) -> list[tuple[str, str]]:
        carried = [("clinic_id", str(self.clinic_id)), ("treatment_id", str(self.treatment_id))]
        carried += [("areas", area) for area in self.areas]
        if self.practitioner_id:
            carried.append(("practitioner_id", str(self.practitioner_id)))
        carried += [(f"answer.{key}", "yes" if value else "no") for key, value in self.answers.items()]
        return carried

    def search(self) -> dict[str, Any]:
        return {"treatment_id": str(self.treatment_id), "areas": list(self.areas),
                "practitioner_id": str(self.practitioner_id) if self.practitioner_id else None}  # fmt: skip


@dataclass(frozen=True)
class Offer:
    """A clinic's page: what it offers and asks before times are shown."""

    clinic: Clinic
    treatments: list[Treatment]
    practitioners: list[Practitioner]
    questions: list[Question]


async def clinics(apis: Apis, *, visitor: str | None, words: str = "") -> list[Clinic]:
    found, offset = [], 0
    while offset is not None:
        page = (await apis.booking.get("/clinics", visitor=visitor, limit=100, offset=offset)).expected()
        found += [Clinic.of(body) for body in page["items"]]
        offset = page["next_offset"]
    return [clinic for clinic in found if clinic.matches(words)]


async def clinic(apis: Apis, clinic_id: UUID, *, visitor: str | None) -> Clinic:
    answer = await apis.booking.reference(f"/clinics/{clinic_id}", visitor=visitor)
    if answer.status == 404:
        raise ClinicNotFound(str(clinic_id))
    return Clinic.of(answer.expected())


async def offer(apis: Apis, clinic_id: UUID, *, visitor: str | None) -> Offer:
    found = await clinic(apis, clinic_id, visitor=visitor)
    treatments, practitioners, questions = [
        answer.expected()
        for answer in await asyncio.gather(
            *(apis.booking.reference(f"/clinics/{clinic_id}/{part}", visitor=visitor)
              for part in ("treatments", "practitioners", "screening"))
        )
    ]  # fmt: skip
    return Offer(
        clinic=found,
        treatments=[Treatment.of(t) for t in treatments],
        practitioners=[Practitioner.of(p) for p in practitioners],
        questions=[Question.of(q) for q in questions],
    )


@dataclass(frozen=True)
class Screened:
    outcome: str  # clear, review, or call (online booking stops: the patient calls the clinic)
    message: str | None = None


async def screen(apis: Apis, choice: Choice, *, visitor: str | None) -> Screened:
    """Booking's own rule decides; nothing is stored."""
    answer = await apis.booking.send(
        "POST", f"/clinics/{choice.clinic_id}/screening/check", json={"answers": dict(choice.answers)},
        visitor=visitor,
    )  # fmt: skip
    if answer.ok:
        return Screened(outcome=answer.body["outcome"])
    if answer.code == "screening_requires_clinic_contact":
        return Screened(outcome="call")
    raise ChoiceInvalid(answer.field_errors() or {"answers": "answer every question"})


@dataclass(frozen=True)
class Times:
    days: list[Day]
    day: date
    slots: list[Slot]

    @property
    def nothing_free(self) -> bool:
        return not any(day.free for day in self.days)


async def times(apis: Apis, choice: Choice, clinic: Clinic, *, day: date | None, visitor: str | None) -> Times:
    """Free start times for two weeks (from the day asked for, else from today), and those of one day:
    the day asked for, else the first with any."""
    first = max(day or clinic.today(), clinic.today())
    first = min(first, clinic.today() + timedelta(days=clinic.horizon_days))
    last = first + timedelta(days=DAYS_SHOWN - 1)
    answer = await apis.booking.get(
        f"/clinics/{clinic.id}/availability", visitor=visitor, **{"from": str(first), "to": str(last)},
        **choice.search(),
    )  # fmt: skip
    slots = [Slot.of(s, clinic.zone) for s in answer.expected()["slots"]]
    by_day: dict[date, list[Slot]] = {}
    for slot in slots:
        by_day.setdefault(slot.local.date(), []).append(slot)
    days = [Day(first + timedelta(days=n), len(by_day.get(first + timedelta(days=n), []))) for n in range(DAYS_SHOWN)]
    shown = day if day in by_day else next((d.day for d in days if d.free), first)
    return Times(days=days, day=shown, slots=by_day.get(shown, []))


@dataclass(frozen=True)
class Hold:
    id: UUID
    token: str
    starts_at: datetime
    expires_at: datetime
    extended: bool

    @classmethod
    def of(cls, body: dict[str, Any], token: str) -> Hold:
        return cls(
            id=UUID(body["id"]), token=token, starts_at=datetime.fromisoformat(body["starts_at"]),
            expires_at=datetime.fromisoformat(body["expires_at"]), extended=bool(body["extended"]),
        )  # fmt: skip

    def stored(self) -> dict[str, Any]:
        return {"id": str(self.id), "token": self.token, "starts_at": self.starts_at.isoformat(),
                "expires_at": self.expires_at.isoformat(), "extended": self.extended}  # fmt: skip

    @classmethod
    def from_session(cls, stored: dict[str, Any]) -> Hold:
        return cls.of(stored, stored["token"])


@dataclass(frozen=True)
class Taken:
    """The time went to someone else first; these are free instead."""

    alternatives: list[Slot]


async def hold(apis: Apis, choice: Choice, clinic: Clinic, *, starts_at: str, visitor: str | None) -> Hold | Taken:
    body = {"clinic_id": str(clinic.id), "starts_at": starts_at, **choice.search()}
    answer = await apis.booking.send("POST", "/holds", json=body, visitor=visitor)
    if answer.status == 201:
        return Hold.of(answer.body["hold"], answer.body["hold_token"])
    if answer.status == 409:
        return Taken([Slot.of(s, clinic.zone) for s in (answer.body.get("details") or {}).get("alternatives", [])])
    raise ChoiceInvalid(answer.field_errors())


async def extend(apis: Apis, held: Hold, *, visitor: str | None) -> Hold | None:
    """The hold with its new expiry; None when it cannot be extended (lapsed, or extended once already)."""
    answer = await apis.booking.send("POST", f"/holds/{held.id}/extend", token=held.token, visitor=visitor)
    return Hold.of(answer.body["hold"], held.token) if answer.ok else None


async def release(apis: Apis, held: Hold, *, visitor: str | None) -> None:
    await apis.booking.send("DELETE", f"/holds/{held.id}", token=held.token, visitor=visitor)


@dataclass(frozen=True)
class Details:
    """The patient as the form gave them; `form` keeps what was typed for a page shown again."""

    form: dict[str, str]

    def patient(self) -> dict[str, Any]:
        f = self.form
        return {
            "display_name": f.get("display_name", ""), "email": f.get("email") or None,
            "phone": f.get("phone") or None, "preferred_channel": f.get("preferred_channel", "email"),
            "care_messages_consent": f.get("care_messages_consent") == "yes",
            "marketing_consent": f.get("marketing_consent") == "yes",
        }  # fmt: skip


@dataclass(frozen=True)
class Booked:
    appointment_id: UUID
    manage_token: str


@dataclass(frozen=True)
class Refused:
    errors: dict[str, str]


async def confirm(
    apis: Apis, choice: Choice, clinic: Clinic, details: Details, *, held: Hold, consent_version: str,
    idempotency_key: str, visitor: str | None,
) -> Booked | Refused | Taken:  # fmt: skip
    """Book the held time. The Idempotency-Key was minted with the form, so a double click or a
    resubmitted form gets the first answer again instead of a second booking."""
    body = {
        "clinic_id": str(clinic.id), "starts_at": held.starts_at.isoformat(), "hold_token": held.token,
        "patient": details.patient(), "screening_answers": dict(choice.answers),
        "consent": {"accepted": details.form.get("consent") == "yes", "text_version": consent_version},
        **{k: v for k, v in choice.search().items() if v is not None},
    }  # fmt: skip
    answer = await apis.booking.send(
        "POST", "/appointments", json=body, idempotency_key=idempotency_key, visitor=visitor
    )
    if answer.status == 201:
        return Booked(UUID(answer.body["appointment"]["id"]), answer.body["manage_token"])
    if answer.status == 409 and answer.code == "slot_taken":
        return Taken([Slot.of(s, clinic.zone) for s in (answer.body.get("details") or {}).get("alternatives", [])])
    return Refused(patient_errors(answer))


# The API words a refused field for developers ("String should have at least 1 character"); a patient
# reads these instead, in their language (translated where the page is rendered).
PATIENT_WORDING = {
    "display_name": N_("Please enter your name."),
    "email": N_("Please enter your e-mail address, such as name@example.org."),
    "phone": N_("Please enter your mobile number with its country code, such as +31 6 1234 5678."),
    "consent": N_("Please read the consent text and tick the box to agree."),
}


def patient_errors(answer: Answer) -> dict[str, str]:
    """The API's field errors, named as the form names its fields (`patient.email` is `email`), in the
    patient's words where we have them."""
    found = {name.removeprefix("patient."): message for name, message in answer.field_errors().items()}
    return {name: PATIENT_WORDING.get(name, message) for name, message in found.items()}
