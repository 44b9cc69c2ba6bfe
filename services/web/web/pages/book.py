"""A patient books, no account: a clinic, its treatment, areas and practitioner; the clinic's screening
questions; a day and a free time, held while they fill in their details; confirm.

Every step is a plain form and works without JavaScript; with it, htmx swaps the step in place
(`#step`). Choices travel in the forms (screening answers are never stored here); the held time and
its token live in the patient's session."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from web.pages.common import CSRF, ApisDep, SessionDep, SettingsDep, Visitor
from web.pages.rendering import redirect, render
from web.service import booking_flow as flow
from web.service.booking_flow import Choice, ChoiceInvalid, Hold
from web.sessions import Session, remember_link

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(
    request: Request, apis: ApisDep, visitor: Visitor, q: Annotated[str, Query(max_length=80)] = ""
) -> Response:
    found = await flow.clinics(apis, visitor=visitor, words=q)
    return render(request, "home.html", {"clinics": found, "q": q})


@router.get("/clinics/{clinic_id}")
async def clinic_page(request: Request, clinic_id: UUID, apis: ApisDep, visitor: Visitor) -> Response:
    offer = await flow.offer(apis, clinic_id, visitor=visitor)
    return render(request, "book/start.html", {"offer": offer, "errors": {}, "chosen": None})


@router.post("/book", dependencies=[CSRF])
async def choose(request: Request, apis: ApisDep, visitor: Visitor) -> Response:
    """After the treatment, areas and practitioner: the screening questions, or straight to the times."""
    form = await request.form()
    offer = await flow.offer(apis, UUID(str(form.get("clinic_id"))), visitor=visitor)
    try:
        choice = Choice.of(form, [str(a) for a in form.getlist("areas")])
    except ChoiceInvalid as invalid:
        return render(request, "book/start.html", {"offer": offer, "errors": invalid.errors, "chosen": form},
                      status=422)  # fmt: skip
    if offer.questions:
        return render(request, "book/screening.html", {"offer": offer, "choice": choice, "errors": {}})
    return await _times(request, apis, choice, visitor=visitor, day=None)


@router.post("/book/times", dependencies=[CSRF])
async def times(request: Request, apis: ApisDep, visitor: Visitor) -> Response:
    """The screening answered (or another day picked): booking checks the answers, then the times."""
    form = await request.form()
    choice = Choice.of(form, [str(a) for a in form.getlist("areas")])
    if form.get("step") == "screening":
        offer = await flow.offer(apis, choice.clinic_id, visitor=visitor)
        try:
            screened = await flow.screen(apis, choice, visitor=visitor)
        except ChoiceInvalid as invalid:
            return render(request, "book/screening.html", {"offer": offer, "choice": choice, "errors": invalid.errors},
                          status=422)  # fmt: skip
        if screened.outcome == "call":
            return render(request, "book/call_us.html", {"clinic": offer.clinic})
    day = _day(form.get("day"))
    return await _times(request, apis, choice, visitor=visitor, day=day)


@router.post("/book/hold", dependencies=[CSRF])
async def hold_time(request: Request, apis: ApisDep, session: SessionDep, visitor: Visitor) -> Response:
    form = await request.form()
    choice = Choice.of(form, [str(a) for a in form.getlist("areas")])
    clinic = await flow.clinic(apis, choice.clinic_id, visitor=visitor)
    starts_at = str(form.get("starts_at") or "")
    if not starts_at:
        return await _times(request, apis, choice, visitor=visitor, day=_day(form.get("day")),
                            errors={"starts_at": "choose a time"})  # fmt: skip
    await _release_held(apis, session, visitor)
    held = await flow.hold(apis, choice, clinic, starts_at=starts_at, visitor=visitor)
    if isinstance(held, flow.Taken):
        return await _times(request, apis, choice, visitor=visitor, day=_day(form.get("day")), taken=held)
    session["hold"] = held.stored()
    return _details(request, choice, clinic, held, form={}, errors={})


@router.post("/book/extend", dependencies=[CSRF])
async def extend_hold(request: Request, apis: ApisDep, session: SessionDep, visitor: Visitor) -> Response:
    form = await request.form()
    choice = Choice.of(form, [str(a) for a in form.getlist("areas")])
    clinic = await flow.clinic(apis, choice.clinic_id, visitor=visitor)
    held = _held(session)
    if held is None:
        return await _times(request, apis, choice, visitor=visitor, day=None, lapsed=True)
    extended = await flow.extend(apis, held, visitor=visitor)
    if extended is not None:
        session["hold"] = extended.stored()
    return _details(request, choice, clinic, extended or held, form=_typed(form), errors={})


@router.post("/book/confirm", dependencies=[CSRF])
async def confirm(
    request: Request, apis: ApisDep, session: SessionDep, settings: SettingsDep, visitor: Visitor
) -> Response:
    form = await request.form()
    choice = Choice.of(form, [str(a) for a in form.getlist("areas")])
    clinic = await flow.clinic(apis, choice.clinic_id, visitor=visitor)
    held = _held(session)
    if held is None:
        return await _times(request, apis, choice, visitor=visitor, day=None, lapsed=True)
    details = flow.Details(_typed(form))
    outcome = await flow.confirm(
        apis, choice, clinic, details, held=held, consent_version=settings.consent_text_version,
        idempotency_key=str(form.get("idempotency_key") or uuid.uuid4()), visitor=visitor,
    )  # fmt: skip
    if isinstance(outcome, flow.Booked):
        session.pop("hold", None)
        remember_link(session, "visits", outcome.appointment_id, outcome.manage_token)
        return redirect(request, f"/manage/{outcome.appointment_id}")
    if isinstance(outcome, flow.Taken):
        session.pop("hold", None)
        if not outcome.alternatives:  # nothing free any more: wait, with the details already given
            return render(request, "offers/join.html", {
                "choice": choice, "clinic": clinic, "form": details.form, "errors": {}, "taken": True,
                "first_day": clinic.today(), "last_day": clinic.today() + timedelta(days=28),
                "consent_version": settings.consent_text_version,
            })  # fmt: skip
        return await _times(request, apis, choice, visitor=visitor, day=held.starts_at.date(), taken=outcome)
    return _details(request, choice, clinic, held, form=details.form, errors=outcome.errors, status=422)


async def _times(
    request: Request, apis: ApisDep, choice: Choice, *, visitor: str | None, day: date | None,
    taken: flow.Taken | None = None, lapsed: bool = False, errors: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    offer = await flow.offer(apis, choice.clinic_id, visitor=visitor)
    found = await flow.times(apis, choice, offer.clinic, day=day, visitor=visitor)
    treatment = next(t for t in offer.treatments if t.id == choice.treatment_id)
    return render(request, "book/times.html", {
        "offer": offer, "choice": choice, "times": found, "taken": taken, "lapsed": lapsed,
        "minutes": treatment.visit_minutes(choice.areas), "errors": errors or {},
    })  # fmt: skip


def _details(
    request: Request, choice: Choice, clinic: Any, held: Hold, *, form: dict[str, str], errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:  # fmt: skip
    # One key per form shown: the same form sent twice books once; a form shown again (after an
    # error) keeps its key, since the API refused the first and nothing was booked.
    key = form.get("idempotency_key") or str(uuid.uuid4())
    return render(request, "book/details.html", {
        "choice": choice, "clinic": clinic, "hold": held, "form": form, "errors": errors, "idempotency_key": key,
        "consent_version": request.app.state.settings.consent_text_version,
    }, status=status)  # fmt: skip


def _held(session: Session) -> Hold | None:
    stored = session.get("hold")
    return Hold.from_session(stored) if isinstance(stored, dict) else None


async def _release_held(apis: ApisDep, session: Session, visitor: str | None) -> None:
    """A patient who picks another time lets the one they held go at once."""
    held = _held(session)
    if held is not None:
        await flow.release(apis, held, visitor=visitor)
        session.pop("hold", None)


def _typed(form: Any) -> dict[str, str]:
    keep = ("display_name", "email", "phone", "preferred_channel", "care_messages_consent", "marketing_consent",
            "consent", "idempotency_key")  # fmt: skip
    return {name: str(form.get(name)) for name in keep if form.get(name) is not None}


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
