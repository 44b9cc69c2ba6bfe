"""Sending: messages are rows with a due time; the sender claims due ones with `FOR UPDATE SKIP
LOCKED` (several workers may run), marks them `sending` and commits before it talks to the SMTP
server, then records the attempt. A passing failure is tried again after growing delays, a
permanent one (an address the server refuses) is recorded once and not retried, and a message left
in `sending` by a worker that died is picked up again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clinic_shared import manage_links
from clinic_shared.logging import get_logger
from clinic_shared.projections.clinics import clinics
from clinic_shared.runtime import SessionFactory
from notifications.adapters import smtp
from notifications.adapters.tables import appointments, delivery_attempts, messages, recipients
from notifications.settings import NotificationsSettings

log = get_logger(__name__)
BATCH = 20
TEMPLATES = Environment(
    loader=PackageLoader("notifications", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
AREA_NAMES = {"face": "face", "neck": "neck", "decolletage": "décolletage", "hands": "hands"}


async def send_due(session_factory: SessionFactory, settings: NotificationsSettings) -> None:
    """Worker job: send what is due, in small batches, until nothing is."""
    while await _send_batch(session_factory, settings):
        pass


async def _send_batch(session_factory: SessionFactory, settings: NotificationsSettings) -> int:
    now = datetime.now(UTC)
    async with session_factory() as session, session.begin():
        claimed = list(
            await session.scalars(
                select(messages.c.id)
                .where(
                    or_(
                        and_(messages.c.status.in_(("queued", "failed_temporary")), messages.c.due_at <= now),
                        and_(
                            messages.c.status == "sending",
                            messages.c.due_at <= now - timedelta(seconds=settings.stuck_sending_s),
                        ),
                    )
                )
                .order_by(messages.c.due_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        )
        if claimed:
            await session.execute(
                update(messages).where(messages.c.id.in_(claimed)).values(status="sending", due_at=now)
            )
    for message_id in claimed:
        await _deliver(session_factory, settings, message_id)
    return len(claimed)


async def _deliver(session_factory: SessionFactory, settings: NotificationsSettings, message_id: UUID) -> None:
    try:
        async with session_factory() as session, session.begin():
            outgoing, skip_reason = await _compose(session, settings, message_id)
            if outgoing is None:
                await session.execute(
                    update(messages)
                    .where(messages.c.id == message_id)
                    .values(status="cancelled", last_error=skip_reason)
                )
                return
        provider_id = await asyncio.to_thread(smtp.send, settings, outgoing)
    except smtp.PermanentFailure as error:
        await _record(session_factory, settings, message_id, status="failed_permanent", error=str(error))
    except smtp.TEMPORARY as error:
        await _record(session_factory, settings, message_id, status="failed_temporary", error=smtp.describe(error))
    except Exception as error:
        # A message that cannot be rendered or built (bad data, a template error) will not get better by
        # itself: recorded once, not retried, and the rest of the batch goes on.
        log.exception("message_unsendable", message_id=str(message_id))
        await _record(session_factory, settings, message_id, status="failed_permanent", error=smtp.describe(error))
    else:
        await _record(session_factory, settings, message_id, status="sent", provider_message_id=provider_id)


async def _compose(
    session: AsyncSession, settings: NotificationsSettings, message_id: UUID
) -> tuple[smtp.Outgoing | None, str | None]:
    """The e-mail to send, or why nothing should be sent any more."""
    row = (
        await session.execute(
            select(
                messages.c.channel,
                recipients.c.display_name,
                recipients.c.email,
                recipients.c.locale,
                recipients.c.care_messages_consent,
                recipients.c.erased_at,
                appointments.c.appointment_id,
                appointments.c.patient_id,
                appointments.c.starts_at,
                appointments.c.ends_at,
                appointments.c.areas,
                appointments.c.status.label("appointment_status"),
                clinics.c.name.label("clinic_name"),
                clinics.c.address,
                clinics.c.timezone,
                clinics.c.phone,
            )
            .join(recipients, recipients.c.patient_id == messages.c.patient_id)
            .join(appointments, appointments.c.appointment_id == messages.c.appointment_id)
            .join(clinics, clinics.c.id == messages.c.clinic_id)
            .where(messages.c.id == message_id)
        )
    ).first()
    if row is None:
        return None, "recipient, appointment or clinic unknown"
    if row.erased_at is not None or not row.care_messages_consent:
        return None, "the patient does not want care messages"
    if row.appointment_status != "confirmed":
        return None, f"the appointment is {row.appointment_status}"
    if row.channel != "email" or not row.email:
        return None, "text messages are not sent yet"
    zone = ZoneInfo(row.timezone)
    local = row.starts_at.astimezone(zone)
    token = manage_links.issue(
        settings.manage_link_secret.get_secret_value(),
        appointment_id=row.appointment_id,
        patient_id=row.patient_id,
        visit_ends_at=row.ends_at,
    )
    address = row.address
    context: dict[str, Any] = {
        "name": row.display_name,
        "locale": row.locale,
        "local_start": f"{local:%A %d %B %Y, %H:%M}",
        "timezone": row.timezone,
        "clinic_name": row.clinic_name,
        "clinic_address": ", ".join(
            p for p in (address.get("line1"), address.get("postal_code"), address.get("city")) if p
        ),
        "clinic_phone": row.phone,
        "areas": ", ".join(AREA_NAMES.get(area, area) for area in row.areas),
        "manage_url": f"{settings.patient_pages_url.rstrip('/')}/manage/{row.appointment_id}?token={token}",
    }
    return (
        smtp.Outgoing(
            message_id=message_id,
            to=row.email,
            subject=f"Your microneedling visit on {local:%d %B} at {local:%H:%M} is confirmed",
            text=TEMPLATES.get_template("confirmation.txt.j2").render(context),
            html=TEMPLATES.get_template("confirmation.html.j2").render(context),
            ics=calendar_file(
                uid=f"{row.appointment_id}@clinic", starts_at=row.starts_at, ends_at=row.ends_at,
                summary=f"Microneedling at {row.clinic_name}", location=context["clinic_address"],
            ),
        ),
        None,
    )  # fmt: skip


def calendar_file(*, uid: str, starts_at: datetime, ends_at: datetime, summary: str, location: str) -> str:
    """An iCalendar (RFC 5545) event in UTC, lines ending in CRLF."""

    def text(value: str) -> str:
        return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")

    def stamp(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Clinic platform//Notifications//EN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{stamp(datetime.now(UTC))}",
        f"DTSTART:{stamp(starts_at)}",
        f"DTEND:{stamp(ends_at)}",
        f"SUMMARY:{text(summary)}",
        f"LOCATION:{text(location)}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


async def _record(
    session_factory: SessionFactory,
    settings: NotificationsSettings,
    message_id: UUID,
    *,
    status: str,
    error: str | None = None,
    provider_message_id: str | None = None,
) -> None:
    async with session_factory() as session, session.begin():
        attempts = await session.scalar(
            update(messages)
            .where(messages.c.id == message_id)
            .values(attempts=messages.c.attempts + 1)
            .returning(messages.c.attempts)
        )
        assert attempts is not None
        if status == "failed_temporary" and attempts >= settings.max_attempts:
            status, error = "failed_permanent", f"{error}; gave up after {attempts} attempts"
        values: dict[str, Any] = {"status": status, "last_error": error}
        if status == "sent":
            values["sent_at"] = func.now()
        if status == "failed_temporary":
            delay = settings.retry_base_s * 2 ** (attempts - 1)
            values["due_at"] = datetime.now(UTC) + timedelta(seconds=delay)
        await session.execute(update(messages).where(messages.c.id == message_id).values(**values))
        await session.execute(
            insert(delivery_attempts).values(
                message_id=message_id, channel="email", provider=f"smtp:{settings.smtp_host}", status=status,
                provider_message_id=provider_message_id, error=error,
            )
        )  # fmt: skip
    log.info("message_attempt", message_id=str(message_id), status=status)
