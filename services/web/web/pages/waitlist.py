"""The waitlist: joining it when no time suits (with the details already given), and the page behind
the link in an offer. As with visits, opening the link changes nothing and the token moves into the
session."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from web.pages.common import CSRF, ApisDep, SessionDep, SettingsDep, Visitor
from web.pages.rendering import redirect, render
from web.service import booking_flow as flow
from web.service import waitlist as service
from web.service.booking_flow import Choice, Details
from web.sessions import Session, link_token, remember_link

router = APIRouter(include_in_schema=False)
TokenQuery = Annotated[str | None, Query(max_length=2000)]
WAIT_DAYS = 28  # how far ahead a patient waits unless they say otherwise


@router.post("/book/waitlist", dependencies=[CSRF])
async def join(request: Request, apis: ApisDep, session: SessionDep, settings: SettingsDep,
               visitor: Visitor) -> Response:  # fmt: skip
    """Shown with the form (`step=form`, the details kept from the booking form if there were any),
    then joined when the form is sent."""
    form = await request.form()
    choice = Choice.of(form, [str(a) for a in form.getlist("areas")])
    clinic = await flow.clinic(apis, choice.clinic_id, visitor=visitor)
    typed = {name: str(value) for name, value in form.items() if isinstance(value, str)}
    first = _day(typed.get("from")) or clinic.today()
    last = _day(typed.get("to")) or min(
        first + timedelta(days=WAIT_DAYS), clinic.today() + timedelta(days=clinic.horizon_days)
    )
    context = {"choice": choice, "clinic": clinic, "form": typed, "errors": {}, "first_day": first, "last_day": last,
               "consent_version": settings.consent_text_version}  # fmt: skip
    if typed.get("step") == "form":
        return render(request, "offers/join.html", context)
    joined = await service.join(
        apis, choice, clinic, Details(typed), first_day=first, last_day=last,
        consent_version=settings.consent_text_version, visitor=visitor,
    )  # fmt: skip
    if isinstance(joined, service.Joined):
        remember_link(session, "waitlist", joined.entry_id, joined.token)
        return redirect(request, f"/waitlist/{joined.entry_id}")
    if isinstance(joined, flow.Taken):
        return render(request, "offers/join.html", {**context, "free": joined.alternatives}, status=409)
    return render(request, "offers/join.html", {**context, "errors": joined.errors}, status=422)


@router.get("/waitlist/{entry_id}")
async def open_entry(request: Request, entry_id: UUID, apis: ApisDep, session: SessionDep, visitor: Visitor,
                     token: TokenQuery = None) -> Response:  # fmt: skip
    if token is not None:
        remember_link(session, "waitlist", entry_id, token)
        return redirect(request, f"/waitlist/{entry_id}")
    found = await service.entry(apis, entry_id, token=_token(session, entry_id), visitor=visitor)
    return render(request, "offers/entry.html", {"entry": found, "notice": request.query_params.get("done"),
                                                 "errors": {}})  # fmt: skip


@router.post("/waitlist/{entry_id}/accept", dependencies=[CSRF])
async def accept(request: Request, entry_id: UUID, apis: ApisDep, session: SessionDep, visitor: Visitor) -> Response:
    token = _token(session, entry_id)
    found = await service.entry(apis, entry_id, token=token, visitor=visitor)
    form = await request.form()
    answers = {key.removeprefix("answer."): value == "yes" for key, value in form.items()
               if key.startswith("answer.") and value in ("yes", "no")}  # fmt: skip
    outcome = await service.accept(apis, found, answers=answers, token=token, visitor=visitor)
    if isinstance(outcome, service.Accepted):
        remember_link(session, "visits", outcome.appointment_id, outcome.manage_token)
        return redirect(request, f"/manage/{outcome.appointment_id}")
    return render(request, "offers/entry.html", {"entry": found, "notice": None, "errors": outcome.errors},
                  status=409)  # fmt: skip


@router.post("/waitlist/{entry_id}/{action}", dependencies=[CSRF])
async def decline_or_leave(request: Request, entry_id: UUID, action: str, apis: ApisDep, session: SessionDep,
                           visitor: Visitor) -> Response:  # fmt: skip
    if action not in ("decline", "leave"):
        raise HTTPException(status_code=404)
    token = _token(session, entry_id)
    found = await service.entry(apis, entry_id, token=token, visitor=visitor)
    await service.answer_offer(apis, found, action=action, token=token, visitor=visitor)
    return redirect(request, f"/waitlist/{entry_id}?done={action}")


def _token(session: Session, entry_id: UUID) -> str:
    token = link_token(session, "waitlist", entry_id)
    if token is None:
        raise service.EntryLinkRefused("no link opened in this session")
    return token


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
