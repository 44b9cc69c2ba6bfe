"""A patient's own message choices, reached through signed links in their messages (no account):

- `GET`/`PUT /preferences` with the preferences link's token (or the manage link of one of the
  patient's visits) as a bearer token: the JSON API for the patient pages;
- `/p/preferences?token=...`: a small page that shows and saves the same choices;
- `/p/unsubscribe?token=...`: the unsubscribe link of a non-essential message. Opening it shows a
  button (a link scanner's GET changes nothing); the POST, also RFC 8058's one-click POST from the mail
  client, turns that category off on that channel.

A choice made here, per channel and category, wins over the consent given at booking. Erased patients
have no choices left to show."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any
from urllib.parse import parse_qs
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, Field

from clinic_shared import manage_links
from clinic_shared.auth import NotAuthenticated
from clinic_shared.errors import NotFound
from clinic_shared.web import ERROR_RESPONSES, RequestModel, error_response
from notifications import links
from notifications.adapters.uow import NotificationsUnitOfWork
from notifications.api.common import Settings, UnitOfWork
from notifications.service import reach

router = APIRouter(tags=["patient preferences"], responses=ERROR_RESPONSES)
PAGES = Environment(loader=PackageLoader("notifications", "templates"), autoescape=select_autoescape(["j2"]))
_STYLE = (resources.files("notifications") / "templates" / "page.css").read_text()
CHANNEL_LABELS = {"email": "By e-mail", "sms": "By text message"}
CATEGORY_NAMES = {"care": "visit messages", "marketing": "suggestions such as when to book your next session"}
_link = HTTPBearer(auto_error=False, description="the token of the patient's preferences link")


class PatientNotKnown(NotFound):
    code = "patient_not_found"


class Choices(BaseModel):
    care: bool = Field(description="confirmations, reminders, changes, aftercare")
    marketing: bool = Field(description="suggestions such as the next session")


class PreferencesOut(BaseModel):
    email: Choices | None = Field(description="null when no e-mail address is on file")
    sms: Choices | None = Field(description="null when no mobile number is on file")


class ChoicesIn(RequestModel):
    care: bool | None = None
    marketing: bool | None = None


class PreferencesIn(RequestModel):
    email: ChoicesIn | None = None
    sms: ChoicesIn | None = None


async def _linked_patient(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_link)]
) -> UUID:
    if credentials is None:
        raise NotAuthenticated("the preferences link's token is required as a bearer token")
    secret = request.app.state.settings.manage_link_secret.get_secret_value()
    try:
        return links.verify_preferences(secret, credentials.credentials)
    except NotAuthenticated:
        # A visit's manage link is also its patient's key to their own record (the patient pages use
        # it to show these choices beside the visit).
        return manage_links.verify(secret, credentials.credentials).patient_id


LinkedPatient = Annotated[UUID, Depends(_linked_patient)]


async def _current(uow: NotificationsUnitOfWork, patient_id: UUID) -> tuple[Any, PreferencesOut]:
    """The patient's choices as the sender applies them (service/reach.py)."""
    recipient = await uow.recipients.find(patient_id)
    if recipient is None or recipient.erased_at is not None:
        raise PatientNotKnown("no such patient", field="token")
    chosen = await uow.recipients.choices(patient_id)

    def on(channel: str, address: str | None) -> Choices | None:
        if not address:
            return None
        return Choices(
            care=reach.consents(recipient, chosen, channel, "care"),
            marketing=reach.consents(recipient, chosen, channel, "marketing"),
        )

    return recipient, PreferencesOut(email=on("email", recipient.email), sms=on("sms", recipient.phone))


@router.get(
    "/preferences",
    summary="The patient's message choices (preferences link)",
    responses={401: error_response("No valid preferences link"), 404: error_response("The patient was erased")},
)
async def get_preferences(patient_id: LinkedPatient, uow: UnitOfWork) -> PreferencesOut:
    async with uow:
        return (await _current(uow, patient_id))[1]


@router.put(
    "/preferences",
    summary="Change the patient's message choices (preferences link)",
    responses={401: error_response("No valid preferences link"), 404: error_response("The patient was erased")},
)
async def put_preferences(body: PreferencesIn, patient_id: LinkedPatient, uow: UnitOfWork) -> PreferencesOut:
    """Only what is given changes; a channel without an address on file is ignored."""
    async with uow:
        _, current = await _current(uow, patient_id)
        changes: dict[tuple[str, str], bool] = {}
        for channel in ("email", "sms"):
            given: ChoicesIn | None = getattr(body, channel)
            if given is None or getattr(current, channel) is None:
                continue
            for category in ("care", "marketing"):
                value = getattr(given, category)
                if value is not None:
                    changes[(channel, category)] = value
        await uow.recipients.choose(patient_id, changes, at=datetime.now(UTC))
        answer = (await _current(uow, patient_id))[1]
        await uow.commit()
    return answer


def _page(status: int = 200, **context: Any) -> HTMLResponse:
    html = PAGES.get_template("page.html.j2").render(**context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _invalid_link() -> HTMLResponse:
    return _page(401, title="This link does not work", problem="It may have expired or been copied incompletely. "
                 "Use the link in a newer message, or ask the clinic to change your choices.")  # fmt: skip


def _choices_page(recipient: Any, current: PreferencesOut, done: str | None = None) -> HTMLResponse:
    choices = [
        {"name": channel, "label": CHANNEL_LABELS[channel], **chosen.model_dump()}
        for channel in ("email", "sms")
        if (chosen := getattr(current, channel)) is not None
    ]
    return _page(title="Your message choices", choices=choices, done=done)


Token = Annotated[str, Query(max_length=2000, description="the link's token")]


@router.get("/p/page.css", include_in_schema=False)
async def page_style() -> Response:
    """The pages' stylesheet, beside them (`page.css` from `/p/...` directly and through the gateway)."""
    return Response(_STYLE, media_type="text/css", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/p/preferences", include_in_schema=False)
async def preferences_page(token: Token, uow: UnitOfWork, settings: Settings) -> HTMLResponse:
    try:
        patient_id = links.verify_preferences(settings.manage_link_secret.get_secret_value(), token)
        async with uow:
            recipient, current = await _current(uow, patient_id)
    except (NotAuthenticated, PatientNotKnown):
        return _invalid_link()
    return _choices_page(recipient, current)


@router.post("/p/preferences", include_in_schema=False)
async def save_preferences_page(token: Token, request: Request, uow: UnitOfWork, settings: Settings) -> HTMLResponse:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    try:
        patient_id = links.verify_preferences(settings.manage_link_secret.get_secret_value(), token)
        async with uow:
            _, current = await _current(uow, patient_id)
            changes = {
                (channel, category): f"{channel}_{category}" in form
                for channel in ("email", "sms")
                if getattr(current, channel) is not None
                for category in ("care", "marketing")
            }
            await uow.recipients.choose(patient_id, changes, at=datetime.now(UTC))
            recipient, current = await _current(uow, patient_id)
            await uow.commit()
    except (NotAuthenticated, PatientNotKnown):
        return _invalid_link()
    return _choices_page(recipient, current, done="Saved. We will only send what you chose.")


@router.get("/p/unsubscribe", include_in_schema=False)
async def unsubscribe_page(token: Token, settings: Settings) -> HTMLResponse:
    try:
        choice = links.verify_unsubscribe(settings.manage_link_secret.get_secret_value(), token)
    except NotAuthenticated:
        return _invalid_link()
    by = "e-mail" if choice.channel == "email" else "text message"
    return _page(title="Stop these messages?", confirm=f"You will no longer receive {CATEGORY_NAMES[choice.category]} "
                 f"by {by}. You can change this again from the link at the bottom of any of our messages.")  # fmt: skip


@router.post("/p/unsubscribe", include_in_schema=False)
async def unsubscribe(token: Token, uow: UnitOfWork, settings: Settings) -> HTMLResponse:
    """The button on the page, and the mail client's one-click POST (RFC 8058)."""
    try:
        choice = links.verify_unsubscribe(settings.manage_link_secret.get_secret_value(), token)
    except NotAuthenticated:
        return _invalid_link()
    async with uow:
        recipient = await uow.recipients.find(choice.patient_id)
        if recipient is not None and recipient.erased_at is None:
            await uow.recipients.choose(
                choice.patient_id, {(choice.channel, choice.category): False}, at=datetime.now(UTC)
            )
            await uow.commit()
    return _page(title="You are unsubscribed", done=f"We will not send you {CATEGORY_NAMES[choice.category]} "
                 f"by {'e-mail' if choice.channel == 'email' else 'text message'} any more.")  # fmt: skip
