"""E-mail through SMTP: the one place that talks to the mail server (host, port, STARTTLS and login
from the settings). Blocking, so the sender runs it in a thread."""

from __future__ import annotations

import contextlib
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from uuid import UUID

from notifications.settings import NotificationsSettings

# What a passing failure looks like (retried later); anything else is the message's own problem.
TEMPORARY = (OSError, smtplib.SMTPException)


class PermanentFailure(Exception):
    """Trying again will not help (the address is refused, the channel is not available)."""


@dataclass(frozen=True)
class Outgoing:
    message_id: UUID
    to: str
    subject: str
    text: str
    html: str
    ics: str | None = None
    ics_method: str = "PUBLISH"
    headers: dict[str, str] = field(default_factory=dict)


def send(settings: NotificationsSettings, outgoing: Outgoing) -> str:
    """Blocking SMTP conversation, run in a thread. Returns the Message-ID given to the message."""
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = outgoing.to
    email["Subject"] = outgoing.subject
    # One Message-ID per message, whatever the attempt: a retry after a crash mid-send is recognisable.
    email["Message-ID"] = message_id = f"<{outgoing.message_id}@notifications.clinic.example>"
    for name, value in outgoing.headers.items():
        email[name] = value
    email.set_content(outgoing.text)
    email.add_alternative(outgoing.html, subtype="html")
    if outgoing.ics is not None:
        email.add_attachment(
            outgoing.ics.encode(), maintype="text", subtype="calendar", filename="visit.ics",
            params={"method": outgoing.ics_method},
        )  # fmt: skip
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s)
    try:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        try:
            smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as refused:
            codes = [code for code, _ in refused.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"recipient refused ({', '.join(map(str, codes))})") from refused
            raise
        except smtplib.SMTPDataError as refused:
            # The server took the addresses but refuses this message for good (too large, rejected as
            # such); a 4xx is its passing trouble. A refused sender (SMTPSenderRefused) is our
            # configuration, not the message: it stays passing, and the operator sees it in the record.
            if 500 <= refused.smtp_code < 600:
                raise PermanentFailure(f"message refused ({refused.smtp_code})") from refused
            raise
    finally:
        _hang_up(smtp)
    return message_id


def _hang_up(smtp: smtplib.SMTP) -> None:
    """Once the server has taken the message it is sent: a QUIT it answers badly, or a connection that
    drops on the way out, must not turn it into a failure (and a second copy)."""
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()
    smtp.close()


def describe(error: BaseException) -> str:
    """The error's kind and code, never the address or the message text."""
    code = getattr(error, "smtp_code", None) or getattr(error, "errno", None)
    return f"{type(error).__name__}{f' {code}' if code else ''}"
