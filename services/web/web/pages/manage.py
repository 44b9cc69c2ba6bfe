"""The page behind the link in every message: `/manage/<visit>?token=...`.

Opening a link changes nothing (mail scanners open links): the token moves into the patient's session
and the page redirects to the same address without it, so it never stays in the address bar, the
history or a Referer. Every change is a form posted from the page, after a step that says what it
will do."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from web.pages.common import CSRF, ApisDep, SessionDep, Visitor
from web.pages.rendering import redirect, render
from web.service import booking_flow as flow
from web.service import visits
from web.service.booking_flow import Choice
from web.sessions import Session, link_token, remember_link

router = APIRouter(prefix="/manage/{appointment_id}", include_in_schema=False)
TokenQuery = Annotated[str | None, Query(max_length=2000, description="the link's token; moved into the session")]


@router.get("")
async def open_visit(
    request: Request, appointment_id: UUID, apis: ApisDep, session: SessionDep, visitor: Visitor,
    token: TokenQuery = None,
) -> Response:  # fmt: skip
    if token is not None:
        remember_link(session, "visits", appointment_id, token)
        return redirect(request, f"/manage/{appointment_id}")
    appointment = await _visit(apis, session, appointment_id, visitor)
    found = None
    if appointment.course_id is not None and appointment.status in ("confirmed", "checked_in", "completed"):
        found = await visits.course(apis, appointment.course_id, token=_token(session, appointment_id),
                                    visitor=visitor)  # fmt: skip
    return render(request, "manage/visit.html", {"visit": appointment, "course": found,
                                                 "notice": request.query_params.get("done")})  # fmt: skip


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
    return redirect(request, f"/manage/{appointment_id}?done=cancelled")


@router.get("/reschedule")
async def reschedule_page(
    request: Request, appointment_id: UUID, apis: ApisDep, session: SessionDep, visitor: Visitor,
    day: Annotated[date | None, Query()] = None,
) -> Response:  # fmt: skip
    appointment = await _visit(apis, session, appointment_id, visitor)
    # From the visit's own day on: a patient moving a visit usually wants a time near the one they had.
    return await _times(request, apis, appointment, day=day or appointment.local_start.date(), visitor=visitor)


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
        remember_link(session, "visits", appointment_id, outcome.token)
        return redirect(request, f"/manage/{appointment_id}?done=moved")
    if isinstance(outcome, flow.Taken):
        return await _times(request, apis, appointment, day=None, visitor=visitor, taken=outcome)
    return render(request, "manage/visit.html", {"visit": appointment, "refusal": outcome, "notice": None,
                                                 "course": None},
                  status=409)  # fmt: skip


@router.get("/next-session")
async def next_session_page(
    request: Request, appointment_id: UUID, apis: ApisDep, session: SessionDep, visitor: Visitor,
    day: Annotated[date | None, Query()] = None,
) -> Response:  # fmt: skip
    appointment, found, token = await _course_of(apis, session, appointment_id, visitor)
    slots = await visits.course_times(apis, found, appointment.clinic, token=token, visitor=visitor)
    return _session_times(request, appointment, found, slots, day=day)


@router.post("/next-session", dependencies=[CSRF])
async def book_next_session(request: Request, appointment_id: UUID, apis: ApisDep, session: SessionDep,
                            visitor: Visitor) -> Response:  # fmt: skip
    appointment, found, token = await _course_of(apis, session, appointment_id, visitor)
    starts_at = str((await request.form()).get("starts_at") or "")
    outcome = await visits.book_session(apis, found, appointment.clinic, starts_at=starts_at, token=token,
                                        visitor=visitor)  # fmt: skip
    if isinstance(outcome, visits.Moved) and outcome.appointment_id is not None:
        remember_link(session, "visits", outcome.appointment_id, outcome.token)
        return redirect(request, f"/manage/{outcome.appointment_id}?done=booked")
    slots = await visits.course_times(apis, found, appointment.clinic, token=token, visitor=visitor)
    refusal = outcome if isinstance(outcome, visits.Refusal) else None
    return _session_times(request, appointment, found, slots, day=None, refusal=refusal, status=409)


async def _course_of(
    apis: ApisDep, session: Session, appointment_id: UUID, visitor: str | None
) -> tuple[visits.Visit, visits.Course, str]:
    appointment = await _visit(apis, session, appointment_id, visitor)
    if appointment.course_id is None:
        raise HTTPException(status_code=404)
    token = _token(session, appointment_id)
    return appointment, await visits.course(apis, appointment.course_id, token=token, visitor=visitor), token


def _session_times(
    request: Request, appointment: visits.Visit, found: visits.Course, slots: list[Any], *, day: date | None,
    refusal: visits.Refusal | None = None, status: int = 200,
) -> Response:  # fmt: skip
    days = sorted({slot.local.date() for slot in slots})
    shown = day if day in days else (days[0] if days else None)
    return render(request, "manage/next_session.html", {
        "visit": appointment, "course": found, "days": days, "day": shown, "refusal": refusal,
        "slots": [slot for slot in slots if slot.local.date() == shown],
    }, status=status)  # fmt: skip


@router.get("/messages")
async def messages_page(request: Request, appointment_id: UUID, apis: ApisDep, session: SessionDep,
                        visitor: Visitor) -> Response:  # fmt: skip
    appointment = await _visit(apis, session, appointment_id, visitor)
    chosen = await visits.message_choices(apis, token=_token(session, appointment_id), visitor=visitor)
    return render(request, "manage/messages.html", {"visit": appointment, "choices": chosen, "saved": False})


@router.post("/messages", dependencies=[CSRF])
async def choose_messages(request: Request, appointment_id: UUID, apis: ApisDep, session: SessionDep,
                          visitor: Visitor) -> Response:  # fmt: skip
    appointment = await _visit(apis, session, appointment_id, visitor)
    token = _token(session, appointment_id)
    current = await visits.message_choices(apis, token=token, visitor=visitor)
    form = await request.form()

    def ticked(channel: str, kept: dict[str, bool] | None) -> dict[str, bool] | None:
        return None if kept is None else {c: form.get(f"{channel}_{c}") == "yes" for c in ("care", "marketing")}

    wanted = visits.Choices(email=ticked("email", current.email), sms=ticked("sms", current.sms))
    saved = await visits.choose_messages(apis, wanted, token=token, visitor=visitor)
    return render(request, "manage/messages.html", {"visit": appointment, "choices": saved, "saved": True})


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
    token = link_token(session, "visits", appointment_id)
    if token is None:
        raise visits.LinkRefused("no link opened in this session")
    return token


async def _visit(apis: ApisDep, session: Session, appointment_id: UUID, visitor: str | None) -> visits.Visit:
    return await visits.visit(apis, appointment_id, token=_token(session, appointment_id), visitor=visitor)
