"""The two ways of sending N booking confirmations that the e-mail row compares, both to the same
local SMTP server (notifications_bench.sink), one SMTP connection per message.

Ours: `notifications.service.sending.send_due(session_factory, settings)`, the worker's job, draining
N confirmations already queued by the consumer's handlers (fixtures.queue_confirmations): claim due
messages, read what each needs, render the text and HTML templates, the manage link and the calendar
file, build the e-mail, talk SMTP (in a thread), record the attempt.

Raw: smtplib in one thread, one message after the other: a multipart e-mail of the same shape
(plain text, HTML alternative, `text/calendar` attachment), built per message from fixed text
(nothing rendered, nothing read or written in a database), its HTML padded so the e-mail is as large
as the service's were in the warm-up, sent over a new connection.
"""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from clinic_shared.runtime import SessionFactory
from notifications.service import sending
from notifications.settings import NotificationsSettings
from notifications_bench.sink import read_counts

TEXT = """Hello Bench Patient,

Your microneedling visit is confirmed.

When:  Tuesday 02 March 2027, 10:00 (Europe/Amsterdam)
Where: Bench Canal District Skin Clinic, Herengracht 120, 1015 BS, Amsterdam
Areas: face, neck

How to prepare
- Please arrive on time, or a few minutes early: your visit starts with a numbing cream,
  which needs some time to work before the treatment.
- Come with clean skin: no make-up, sunscreen or creams on the areas to be treated.
- If you have a cold sore, a skin infection or sunburn on those areas, call the clinic before you come.

To see, move or cancel your visit: http://127.0.0.1:8001/manage/{appointment}?token={token}
Shortly before the visit online changes close; then please call +31 20 555 0120.

The calendar file attached adds the visit to your calendar.

Bench Canal District Skin Clinic
"""
HTML = "<!doctype html>\n<html><body>\n" + "".join(
    f"<p>{line}</p>\n" for line in TEXT.replace("&", "&amp;").replace("<", "&lt;").split("\n\n")
) + "</body></html>\n"  # fmt: skip
TOKEN = "x" * 160  # about the length of a signed manage link's token


@dataclass
class Sent:
    label: str
    messages: int
    seconds: float
    received: int  # by the SMTP server during the measurement
    received_bytes: int
    multipart: int

    @property
    def rate(self) -> float:
        return self.received / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "rate_per_s": round(self.rate, 1),
            "messages": self.messages,
            "seconds": round(self.seconds, 3),
            "received_by_server": self.received,
            "mean_message_bytes": round(self.received_bytes / self.received) if self.received else 0,
            "multipart_received": self.multipart,
        }


async def _timed(label: str, messages: int, count_port: int, send: Any) -> Sent:
    before = await read_counts(count_port)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await send()
    seconds = loop.time() - started
    after = await read_counts(count_port)
    return Sent(
        label=label,
        messages=messages,
        seconds=seconds,
        received=after["messages"] - before["messages"],
        received_bytes=after["bytes"] - before["bytes"],
        multipart=after["multipart"] - before["multipart"],
    )


async def send_through_service(
    label: str, factory: SessionFactory, settings: NotificationsSettings, *, messages: int, count_port: int
) -> Sent:
    return await _timed(label, messages, count_port, lambda: sending.send_due(factory, settings))


async def send_raw(label: str, settings: NotificationsSettings, *, messages: int, count_port: int, size: int) -> Sent:
    padding = max(0, size - len(_confirmation(settings, 0).as_bytes()))
    return await _timed(label, messages, count_port, lambda: asyncio.to_thread(_send_all, settings, messages, padding))


def _send_all(settings: NotificationsSettings, messages: int, padding: int) -> None:
    for k in range(messages):
        email = _confirmation(settings, k, padding=padding)
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s) as smtp:
            smtp.send_message(email)


def _confirmation(settings: NotificationsSettings, k: int, *, padding: int = 0) -> EmailMessage:
    appointment = f"00000000-0000-4000-8000-{k:012d}"
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = f"patient-{k:012d}@example.org"
    email["Subject"] = "Your microneedling visit on 02 March at 10:00 is confirmed"
    email["Message-ID"] = make_msgid(domain="clinic.example")
    text = TEXT.format(appointment=appointment, token=TOKEN)
    email.set_content(text)
    filler = "".join(f"<!-- {'x' * 70} -->\n" for _ in range(padding // 80))
    email.add_alternative(HTML.format(appointment=appointment, token=TOKEN) + filler, subtype="html")
    email.add_attachment(_calendar(appointment).encode(), maintype="text", subtype="calendar", filename="visit.ics",
                         params={"method": "PUBLISH"})  # fmt: skip
    return email


def _calendar(appointment: str) -> str:
    starts_at = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)
    stamp = "%Y%m%dT%H%M%SZ"
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Clinic platform//Notifications//EN", "METHOD:PUBLISH",
        "BEGIN:VEVENT", f"UID:{appointment}@clinic", f"DTSTAMP:{datetime.now(UTC):{stamp}}",
        f"DTSTART:{starts_at:{stamp}}", f"DTEND:{starts_at + timedelta(minutes=75):{stamp}}",
        "SUMMARY:Microneedling at Bench Canal District Skin Clinic",
        "LOCATION:Herengracht 120\\, 1015 BS\\, Amsterdam", "END:VEVENT", "END:VCALENDAR",
    ]  # fmt: skip
    return "\r\n".join(lines) + "\r\n"
