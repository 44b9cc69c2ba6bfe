"""The page behind the link in every message: `/manage/<visit>?token=...`.

Opening a link changes nothing (mail scanners open links): the token moves into the patient's session
and the page redirects to the same address without it, so it never stays in the address bar, the
history or a Referer. Every change is a form posted from the page, after a step that says what it
will do."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from web.pages.common import CSRF, ApisDep, SessionDep, Visitor
from web.pages.rendering import render
from web.service import booking_flow as flow
from web.service import visits
from web.service.booking_flow import Choice
from web.sessions import Session, remember_visit

router = APIRouter(prefix="/manage/{appointment_id}", include_in_schema=False)
TokenQuery = Annotated[str | None, Query(max_length=2000, description="the link's token; moved into the session")]


@router.get("")
async def open_visit(
    request: Request, appointment_id: UUID, apis: ApisDep, session: SessionDep, visitor: Visitor,
    token: TokenQuery = None,
) -> Response:  # fmt: skip
    if token is not None:
        remember_visit(session, appointment_id, token)
        return RedirectResponse(f"/manage/{appointment_id}", status_code=303)
    appointment = await _visit(apis, session, appointment_id, visitor)
    return render(request, "manage/visit.html", {"visit": appointment, "notice": request.query_params.get("done")})


@router.get("/cancel")
async def cancel_page(request: Request, appointment_id: UUID, apis: ApisDep, session: SessionDep,
                      visitor: Visitor) -> Response:  # fmt: skip
    appointment = await _visit(apis, session, appointment_id, visitor)
    return render(request, "manage/cancel.html", {"visit": appointment, "refusal": None})


@router.post("/cancel", dependencies=[CSRF])
async def cancel(request: Request, appointment_id: UUID, apis: ApisDep, session: SessionDep,
                 visitor: Visitor) -> Response:  # fmt: skip
    appointment = await _visit(apis, session, appointment_id, visitor)
    refusal = await visits.cancel(apis, appointment, token=_token(session, appointment_id), visitor=visitor)
    if refusal is not None:
        return render(request, "manage/cancel.html", {"visit": appointment, "refusal": refusal}, status=409)
    return RedirectResponse(f"/manage/{appointment_id}?done=cancelled", status_code=303)


@router.get("/reschedule")
async def reschedule_page(
    request: Request, appointment_id: UUID, apis: ApisDep, session: SessionDep, visitor: Visitor,
    day: Annotated[date | None, Query()] = None,
) -> Response:  # fmt: skip
    appointment = await _visit(apis, session, appointment_id, visitor)
    return await _times(request, apis, appointment, day=day, visitor=visitor)


@router.post("/reschedule", dependencies=[CSRF])
async def reschedule(request: Request, appointment_id: UUID, apis: ApisDep, session: SessionDep,
                     visitor: Visitor) -> Response:  # fmt: skip
    appointment = await _visit(apis, session, appointment_id, visitor)
    form = await request.form()
    starts_at = str(form.get("starts_at") or "")
    if not starts_at:
        return await _times(request, apis, appointment, day=None, visitor=visitor, errors={"starts_at": "—"})
    outcome = await visits.reschedule(apis, appointment, starts_at=starts_at,
                                      token=_token(session, appointment_id), visitor=visitor)  # fmt: skip
    if isinstance(outcome, visits.Moved):
        remember_visit(session, appointment_id, outcome.token)
        return RedirectResponse(f"/manage/{appointment_id}?done=moved", status_code=303)
    if isinstance(outcome, flow.Taken):
        return await _times(request, apis, appointment, day=None, visitor=visitor, taken=outcome)
    return render(request, "manage/visit.html", {"visit": appointment, "refusal": outcome, "notice": None},
                  status=409)  # fmt: skip


async def _times(
    request: Request, apis: ApisDep, appointment: visits.Visit, *, day: date | None, visitor: str | None,
    taken: flow.Taken | None = None, errors: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    assert appointment.treatment is not None
    choice = Choice(appointment.clinic.id, appointment.treatment.id, appointment.areas)
    found = await flow.times(apis, choice, appointment.clinic, day=day, visitor=visitor)
    return render(request, "manage/reschedule.html", {
        "visit": appointment, "times": found, "taken": taken, "errors": errors or {},
        "minutes": appointment.treatment.visit_minutes(appointment.areas),
    })  # fmt: skip


def _token(session: Session, appointment_id: UUID) -> str:
    token = session.get("visits", {}).get(str(appointment_id))
    if not token:
        raise visits.LinkRefused("no link opened in this session")
    return str(token)


async def _visit(apis: ApisDep, session: Session, appointment_id: UUID, visitor: str | None) -> visits.Visit:
    return await visits.visit(apis, appointment_id, token=_token(session, appointment_id), visitor=visitor)
