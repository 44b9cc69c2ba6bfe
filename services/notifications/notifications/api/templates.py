"""Templates for managers and admins: a clinic's own text for any kind, channel and locale, saved as a
new version (never overwritten), refused at save when it would fail at send; back to the chain's default
by saving a version without text; and a preview of any template with sample data."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from clinic_shared.errors import Conflict, NotFound
from clinic_shared.web import ERROR_RESPONSES, RequestModel, error_response
from notifications.adapters.uow import NotificationsUnitOfWork
from notifications.api.common import CLINIC, ClinicId, ClinicManager, Manager, UnitOfWork, ensure_known_clinic
from notifications.domain.kinds import KINDS
from notifications.service import rendering, sandbox

router = APIRouter(tags=["templates"], responses=ERROR_RESPONSES)
Channel = Literal["email", "sms"]
Kind = Annotated[str, Path(description="the kind of message, e.g. confirmation; see GET /message-kinds")]
ChannelPath = Annotated[Channel, Path(description="email or sms")]
Locale = Annotated[str, Query(pattern=r"^[a-z]{2}(-[A-Z]{2})?$", description="e.g. en, nl, en-GB")]
REFUSED: dict[int | str, dict[str, Any]] = {
    422: error_response("The template does not parse, lacks a block, uses an unknown variable or fails")
}


class UnknownKind(NotFound):
    code = "kind_not_found"


class SavedMeanwhile(Conflict):
    code = "template_saved_meanwhile"


class KindOut(BaseModel):
    kind: str
    audience: Literal["patient", "manager"]
    category: Literal["care", "marketing", "alert"]
    urgent: bool = Field(description="sent at once, even in quiet hours")
    channels: list[Channel]
    variables: list[str]
    summary: str


class VersionOut(BaseModel):
    version: int
    saved_by: str
    saved_at: datetime
    uses_default: bool = Field(description="this version put the clinic back on the chain's default text")


class TemplateOut(BaseModel):
    clinic_id: UUID
    kind: str
    channel: Channel
    locale: str
    source: str = Field(description="the text in use: the clinic's newest version, else the default")
    version: int | None = Field(description="the clinic's version in use; null for the default")
    history: list[VersionOut]


class TemplateIn(RequestModel):
    source: str = Field(min_length=1, max_length=sandbox.SOURCE_MAX_CHARS, description="Jinja2 with the blocks "
                        "`subject` and `body` (e-mail) or `body` (SMS), using only the kind's variables")  # fmt: skip


class PreviewIn(RequestModel):
    kind: str
    channel: Channel
    locale: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    clinic_id: UUID | None = Field(default=None, description="render that clinic's template in use")
    source: str | None = Field(default=None, max_length=sandbox.SOURCE_MAX_CHARS,
                               description="render this text instead (a draft)")  # fmt: skip


class PreviewOut(BaseModel):
    subject: str | None
    text: str
    html: str | None


def _kind(kind: str, channel: str) -> None:
    known = KINDS.get(kind)
    if known is None:
        raise UnknownKind(f"no such kind of message: {kind}", field="kind")
    if channel not in known.channels:
        raise UnknownKind(f"{kind} is not sent by {channel}", field="channel")


@router.get("/message-kinds", summary="Every kind of message, its channels and its template variables")
async def message_kinds(principal: Manager) -> list[KindOut]:
    return [
        KindOut(kind=k.name, audience=k.audience, category=k.category, urgent=k.urgent, channels=list(k.channels),
                variables=sorted(k.variables), summary=k.summary)
        for k in KINDS.values()
    ]  # fmt: skip


async def _template(uow: NotificationsUnitOfWork, clinic_id: UUID, kind: str, channel: str, locale: str) -> TemplateOut:
    versions = await uow.templates.versions(clinic_id=clinic_id, kind=kind, channel=channel, locale=locale)
    source = (
        await rendering.current_source(uow.templates, clinic_id=clinic_id, kind=kind, channel=channel, locale=locale)
    ).text
    newest = versions[0] if versions else None
    return TemplateOut(
        clinic_id=clinic_id, kind=kind, channel=channel, locale=locale, source=source,
        version=newest.version if newest is not None and newest.source is not None else None,
        history=[VersionOut(version=v.version, saved_by=v.saved_by, saved_at=v.saved_at,
                            uses_default=v.source is None) for v in versions],
    )  # fmt: skip


@router.get(
    "/clinics/{clinic_id}/templates/{kind}/{channel}",
    summary="The template a clinic uses for a kind and channel, with its versions",
    responses={**CLINIC, 404: error_response("Unknown clinic, or no such kind for this channel")},
)
async def get_template(
    clinic_id: ClinicId,
    kind: Kind,
    channel: ChannelPath,
    principal: ClinicManager,
    uow: UnitOfWork,
    locale: Locale = "en",
) -> TemplateOut:
    _kind(kind, channel)
    async with uow:
        await ensure_known_clinic(uow, principal, clinic_id)
        return await _template(uow, clinic_id, kind, channel, locale)


async def _save(
    uow: NotificationsUnitOfWork, principal: Manager, clinic_id: UUID, kind: str, channel: str, locale: str,
    source: str | None,
) -> TemplateOut:  # fmt: skip
    async with uow:
        await ensure_known_clinic(uow, principal, clinic_id)
        try:
            await uow.templates.add_version(
                clinic_id=clinic_id,
                kind=kind,
                channel=channel,
                locale=locale,
                source=source,
                saved_by=principal.subject,
            )
            await uow.commit()
        except IntegrityError as error:
            raise SavedMeanwhile("someone saved this template meanwhile; reload it", field="source") from error
    async with uow:
        return await _template(uow, clinic_id, kind, channel, locale)


@router.put(
    "/clinics/{clinic_id}/templates/{kind}/{channel}",
    summary="Save a clinic's own text as a new version",
    responses={**CLINIC, **REFUSED, 404: error_response("Unknown clinic, or no such kind for this channel"),
               409: error_response("Someone saved a version meanwhile")},
)  # fmt: skip
async def save_template(
    clinic_id: ClinicId, kind: Kind, channel: ChannelPath, body: TemplateIn, principal: ClinicManager, uow: UnitOfWork,
    locale: Locale = "en",
) -> TemplateOut:  # fmt: skip
    """Checked before it is stored: it must parse in the sandbox, have its channel's blocks, use only the
    kind's variables (see `GET /message-kinds`) and render with sample data; an SMS must stay short."""
    _kind(kind, channel)
    await rendering.ISOLATED.check(kind, channel, body.source)
    return await _save(uow, principal, clinic_id, kind, channel, locale, body.source)


@router.delete(
    "/clinics/{clinic_id}/templates/{kind}/{channel}",
    summary="Go back to the chain's default text (kept as a version)",
    responses={**CLINIC, 404: error_response("Unknown clinic, or no such kind for this channel"),
               409: error_response("Someone saved a version meanwhile")},
)  # fmt: skip
async def reset_template(
    clinic_id: ClinicId,
    kind: Kind,
    channel: ChannelPath,
    principal: ClinicManager,
    uow: UnitOfWork,
    locale: Locale = "en",
) -> TemplateOut:
    _kind(kind, channel)
    return await _save(uow, principal, clinic_id, kind, channel, locale, None)


@router.post(
    "/templates/preview",
    summary="Render a template with sample data",
    responses={**REFUSED, 403: CLINIC[403], 404: error_response("No such kind for this channel, or unknown clinic")},
)
async def preview(body: PreviewIn, principal: Manager, uow: UnitOfWork) -> PreviewOut:
    """A draft (`source`), a clinic's template in use (`clinic_id`) or the default, rendered with the
    kind's sample values; e-mail comes with its HTML part as sent."""
    _kind(body.kind, body.channel)
    source = body.source
    if source is None:
        async with uow:
            if body.clinic_id is not None:
                await ensure_known_clinic(uow, principal, body.clinic_id)
                in_use = await rendering.current_source(
                    uow.templates, clinic_id=body.clinic_id, kind=body.kind, channel=body.channel, locale=body.locale
                )
                source = in_use.text
            else:
                source = rendering.default_source(body.kind, body.channel, body.locale) or rendering.default_source(
                    body.kind, body.channel, rendering.DEFAULT_LOCALE
                )
    assert source is not None
    rendered = await rendering.ISOLATED.check(body.kind, body.channel, source)
    html = None
    if body.channel == "email":
        sample = KINDS[body.kind].sample
        html = rendering.email_html(subject=rendered.subject or "", body=rendered.body, footer=[],
                                    clinic_name=sample["clinic_name"], locale=body.locale)  # fmt: skip
    return PreviewOut(subject=rendered.subject, text=rendered.body, html=html)
