"""Composing what is sent: a patient's message (the context its template gets, the rendered text, the
e-mail's HTML, footer, unsubscribe headers and calendar file, or the text message) and a managers'
alert. No decisions about whether to send: the sender has taken them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from clinic_shared import manage_links
from notifications import links
from notifications.adapters import sms as sms_adapter
from notifications.adapters import smtp
from notifications.adapters.repositories import Repositories
from notifications.domain.kinds import KINDS
from notifications.service import rendering
from notifications.settings import NotificationsSettings

AREA_NAMES = {"face": "face", "neck": "neck", "decolletage": "décolletage", "hands": "hands"}


@dataclass(frozen=True)
class Text:
    message_id: UUID
    to: str
    body: str


@dataclass(frozen=True)
class Prepared:
    channel: str
    email: smtp.Outgoing | None = None
    text: Text | None = None
    to_address: str | None = None  # managers' addresses, recorded; never a patient's


async def for_patient(
    repos: Repositories, settings: NotificationsSettings, *, message: Any, recipient: Any, clinic: Any, visit: Any,
    zone: ZoneInfo, channel: str, address: str, now: datetime,
) -> Prepared:  # fmt: skip
    context = _patient_context(settings, message, recipient, clinic, visit, zone, channel)
    source = await rendering.current_source(
        repos.templates, clinic_id=message.clinic_id, kind=message.kind, channel=channel, locale=recipient.locale
    )
    rendered = await rendering.render_for_sending(source, context, channel)
    if channel == "sms":
        body = rendered.body
        if message.category == "marketing":
            body += f" Stop these: {context['unsubscribe_url']}"
        return Prepared("sms", text=Text(message.id, sms_adapter.normalised_phone(address), body))
    footer = [
        f"{clinic.name} · {clinic.phone}",
        context["clinic_address"],
        f"Choose which messages you receive: {context['preferences_url']}",
    ]
    headers = {}
    if message.category == "marketing":
        footer.append(f"Stop suggestions like this one: {context['unsubscribe_url']}")
        one_click = _unsubscribe_url(settings, message, channel)
        headers = {"List-Unsubscribe": f"<{one_click}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    subject = rendered.subject or ""
    ics, method = _calendar(message, visit, clinic, context, now)
    return Prepared(
        "email",
        email=smtp.Outgoing(
            message_id=message.id, to=address, subject=subject, text=f"{rendered.body}\n\n-- \n" + "\n".join(footer),
            html=rendering.email_html(subject=subject, body=rendered.body, footer=footer, clinic_name=clinic.name,
                                      locale=recipient.locale),
            ics=ics, ics_method=method, headers=headers,
        ),
    )  # fmt: skip


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone)


def _long(local: datetime) -> str:
    return f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M}"


def _day(local: date) -> str:
    return f"{local:%A} {local.day} {local:%B}"


def _areas(areas: list[str]) -> str:
    names = [AREA_NAMES.get(area, area) for area in areas]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _address(clinic: Any) -> str:
    address = clinic.address
    city = " ".join(p for p in (address.get("postal_code"), address.get("city")) if p)
    return ", ".join(p for p in (address.get("line1"), city) if p)


def own_pages(settings: NotificationsSettings) -> str:
    """This service's pages (preferences, unsubscribe), as the gateway serves them."""
    return f"{settings.public_base_url.rstrip('/')}/api/notifications"


def _unsubscribe_url(settings: NotificationsSettings, message: Any, channel: str) -> str:
    token = links.unsubscribe_token(
        settings.manage_link_secret.get_secret_value(), patient_id=message.patient_id, channel=channel,  # type: ignore[arg-type]
        category=message.category,
    )  # fmt: skip
    return f"{own_pages(settings)}/p/unsubscribe?token={token}"


def _patient_context(
    settings: NotificationsSettings, message: Any, recipient: Any, clinic: Any, visit: Any, zone: ZoneInfo,
    channel: str,
) -> dict[str, Any]:  # fmt: skip
    secret = settings.manage_link_secret.get_secret_value()
    pages = settings.public_base_url.rstrip("/")
    facts = message.facts
    context: dict[str, Any] = {
        "name": recipient.display_name,
        "clinic_name": clinic.name,
        "clinic_address": _address(clinic),
        "clinic_phone": clinic.phone,
        "timezone": clinic.timezone,
        "preferences_url": f"{own_pages(settings)}/p/preferences?token="
        + links.preferences_token(secret, patient_id=message.patient_id),
        "book_url": f"{pages}/clinics/{message.clinic_id}",
    }
    starts_at = visit.starts_at if visit is not None else None
    if message.kind == "waitlist_offer":
        starts_at = datetime.fromisoformat(facts["starts_at"])
        expires = _local(datetime.fromisoformat(facts["expires_at"]), zone)
        entry = UUID(facts["entry_id"])
        token = manage_links.issue_waitlist(
            secret, entry_id=entry, patient_id=message.patient_id, last_day=_local(starts_at, zone).date()
        )
        context |= {
            "expires_local": f"{expires:%H:%M} on {_day(expires.date())}",
            "offer_url": f"{pages}/waitlist/{entry}?token={token}",
            "areas": _areas(facts["areas"]),
            "manage_url": f"{pages}/waitlist/{entry}?token={token}",
        }
    elif visit is not None:
        token = manage_links.issue(
            secret, appointment_id=visit.appointment_id, patient_id=visit.patient_id, visit_ends_at=visit.ends_at
        )
        context |= {"areas": _areas(visit.areas), "manage_url": f"{pages}/manage/{visit.appointment_id}?token={token}"}
    if starts_at is not None:
        local = _local(starts_at, zone)
        context |= {"local_start": _long(local), "local_date": _day(local.date()), "local_time": f"{local:%H:%M}"}
    if message.kind == "rescheduled":
        context["previous_local_start"] = _long(_local(datetime.fromisoformat(facts["previous_starts_at"]), zone))
    if message.kind == "cancelled":
        context["cancelled_by"] = facts.get("cancelled_by", "system")
    if message.kind == "next_session":
        context |= {
            "session_number": str(facts["session_number"]),
            "window_from": _day(date.fromisoformat(facts["first_day"])),
            "window_until": _day(date.fromisoformat(facts["last_day"])),
            "unsubscribe_url": _unsubscribe_url(settings, message, channel),
        }
    if message.kind == "recall_notice":
        treated = _local(datetime.fromisoformat(facts["treated_at"]), zone)
        context["treated_on"] = f"{treated:%A} {treated.day} {treated:%B %Y}"
    return {name: context[name] for name in KINDS[message.kind].variables if name in context}


def _calendar(message: Any, visit: Any, clinic: Any, context: dict[str, Any], now: datetime) -> tuple[str | None, str]:
    """The visit as a calendar event for the confirmation and a move; its cancellation for a cancel."""
    if visit is None or message.kind not in ("confirmation", "rescheduled", "cancelled"):
        return None, "PUBLISH"
    method = "CANCEL" if message.kind == "cancelled" else "PUBLISH"
    return (
        calendar_file(
            uid=f"{visit.appointment_id}@clinic", starts_at=visit.starts_at, ends_at=visit.ends_at,
            summary=f"Microneedling at {clinic.name}", location=_address(clinic), method=method,
            sequence=int(now.timestamp()), stamp=now,
        ),
        method,
    )  # fmt: skip


def calendar_file(
    *, uid: str, starts_at: datetime, ends_at: datetime, summary: str, location: str, method: str = "PUBLISH",
    sequence: int = 0, stamp: datetime | None = None,
) -> str:  # fmt: skip
    """An iCalendar (RFC 5545) event in UTC, lines ending in CRLF. A later SEQUENCE with the same UID
    updates the event in the patient's calendar; METHOD:CANCEL removes it."""

    def text(value: str) -> str:
        return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")

    def utc(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Clinic platform//Notifications//EN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"SEQUENCE:{sequence}",
        f"DTSTAMP:{utc(stamp or datetime.now(UTC))}",
        f"DTSTART:{utc(starts_at)}",
        f"DTEND:{utc(ends_at)}",
        f"SUMMARY:{text(summary)}",
        f"LOCATION:{text(location)}",
        *(["STATUS:CANCELLED"] if method == "CANCEL" else []),
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


def _number(value: str) -> str:
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    return f"{number.normalize():f}"


async def for_managers(repos: Repositories, settings: NotificationsSettings, *, message: Any, clinic: Any) -> Prepared:
    addresses = await repos.clinics.alert_recipients(message.clinic_id) or [settings.operations_email]
    facts = dict(message.facts)
    for name in ("available", "reorder_point", "on_hand", "required"):
        if name in facts:
            facts[name] = _number(facts[name])
    if "expires_on" in facts:
        expires = date.fromisoformat(facts["expires_on"])
        facts["expires_on"] = f"{expires.day} {expires:%B %Y}"
    if "on_date" in facts:
        day = date.fromisoformat(facts["on_date"])
        facts["on_date"] = f"{day:%A} {day.day} {day:%B %Y}"
    context = {
        **facts,
        "clinic_name": clinic.name,
        "stock_url": f"{settings.public_base_url.rstrip('/')}/staff/clinics/{message.clinic_id}/stock",
    }
    context = {name: context[name] for name in KINDS[message.kind].variables if name in context}
    source = await rendering.current_source(
        repos.templates, clinic_id=message.clinic_id, kind=message.kind, channel="email",
        locale=rendering.DEFAULT_LOCALE,
    )  # fmt: skip
    rendered = await rendering.render_for_sending(source, context, "email")
    footer = [f"Sent to the alert recipients of {clinic.name}."]
    subject = rendered.subject or ""
    to = ", ".join(addresses)
    return Prepared(
        "email",
        email=smtp.Outgoing(
            message_id=message.id, to=to, subject=subject, text=f"{rendered.body}\n\n-- \n{footer[0]}",
            html=rendering.email_html(subject=subject, body=rendered.body, footer=footer, clinic_name=clinic.name,
                                      locale=rendering.DEFAULT_LOCALE),
        ),
        to_address=to,
    )  # fmt: skip
