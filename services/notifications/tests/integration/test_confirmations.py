"""Booking confirmations by e-mail, through a real SMTP server: the message, its calendar file and
manage link; consent and erasure; duplicates; outages and refused addresses in the delivery record."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from clinic_shared import manage_links
from clinic_shared.auth import Role
from clinic_shared.events import catalogue
from clinic_shared.testing.plugin import TestEnvironment
from notifications.settings import NotificationsSettings

pytestmark = pytest.mark.integration

NewVisit = Callable[..., Awaitable[Any]]
Deliver = Callable[[Any], Awaitable[None]]
Send = Callable[[], Awaitable[None]]


async def _message(engine: AsyncEngine, appointment_id: uuid.UUID) -> Any:
    async with engine.connect() as connection:
        return (
            await connection.execute(
                text("SELECT id, status, attempts, last_error FROM messages WHERE appointment_id = :id"),
                {"id": appointment_id},
            )
        ).one()


async def _attempts(engine: AsyncEngine, message_id: uuid.UUID) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT status FROM delivery_attempts WHERE message_id = :id ORDER BY id"), {"id": message_id}
        )
        return [row.status for row in rows]


async def test_a_confirmed_visit_is_confirmed_by_email_with_a_calendar_file_and_the_manage_link(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, settings: NotificationsSettings, engine: AsyncEngine
) -> None:
    visit = await new_visit()
    await deliver(visit.confirmed())
    await send()

    [mail] = inbox.to(visit.email)
    assert "is confirmed" in mail["Subject"]
    body = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "Tuesday 02 March 2027, 10:00 (Europe/Amsterdam)" in body, "the clinic's local time"
    assert "Canal District Skin Clinic" in body
    assert "face, neck" in body
    assert "clean skin" in body
    assert "numbing cream" in body
    [link] = re.findall(r"http://\S+/manage/\S+", body)
    assert link in html
    token = link.split("token=")[1]
    grant = manage_links.verify(settings.manage_link_secret.get_secret_value(), token)
    assert (grant.appointment_id, grant.patient_id) == (visit.appointment_id, visit.patient_id), "booking accepts it"
    ics = [part for part in mail.iter_attachments() if part.get_filename() == "visit.ics"]
    assert len(ics) == 1
    calendar = ics[0].get_content()
    calendar = calendar if isinstance(calendar, str) else calendar.decode()
    assert "DTSTART:20270302T090000Z" in calendar
    assert "DTEND:20270302T101500Z" in calendar
    assert f"UID:{visit.appointment_id}@clinic" in calendar
    message = await _message(engine, visit.appointment_id)
    assert (message.status, await _attempts(engine, message.id)) == ("sent", ["sent"])


async def test_a_duplicate_event_sends_once(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine
) -> None:
    visit = await new_visit()
    await deliver(visit.confirmed())
    await deliver(visit.confirmed())  # the same fact again (a new message id)
    await send()
    await send()
    assert len(inbox.to(visit.email)) == 1


async def test_no_message_without_consent_or_after_erasure_or_cancellation(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine
) -> None:
    no_consent = await new_visit(care_consent=False)
    erased, cancelled = await new_visit(), await new_visit()
    for visit in (no_consent, erased, cancelled):
        await deliver(visit.confirmed())
    await deliver(catalogue.PatientErased(patient_id=erased.patient_id, erased_at=erased.starts_at))
    await deliver(
        catalogue.AppointmentCancelled(
            appointment_id=cancelled.appointment_id, clinic_id=cancelled.clinic_id,
            patient_id=cancelled.patient_id, cancelled_by="patient",
        )
    )  # fmt: skip
    await send()

    for visit in (no_consent, erased, cancelled):
        assert inbox.to(visit.email) == []
    async with engine.connect() as connection:
        queued = await connection.scalar(
            text("SELECT count(*) FROM messages WHERE appointment_id = :id"), {"id": no_consent.appointment_id}
        )
        forgotten = (
            await connection.execute(
                text("SELECT display_name, email FROM recipients WHERE patient_id = :id"), {"id": erased.patient_id}
            )
        ).one()
    assert queued == 0
    assert (forgotten.display_name, forgotten.email) == ("", None), "nothing personal kept after erasure"
    assert (await _message(engine, erased.appointment_id)).status == "cancelled"
    assert (await _message(engine, cancelled.appointment_id)).status == "cancelled"


async def test_an_smtp_outage_delays_the_message_and_a_refused_address_fails_once(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine, smtp_port: int
) -> None:
    visit = await new_visit()
    refused = await new_visit(address="refused@example.org")
    await deliver(visit.confirmed())
    inbox.stop()  # the mail server is down
    await send()
    during = await _message(engine, visit.appointment_id)
    assert (during.status, await _attempts(engine, during.id)) == ("failed_temporary", ["failed_temporary"])
    assert "ConnectionRefusedError" in during.last_error
    assert "@" not in during.last_error

    inbox.start(smtp_port)
    async with engine.begin() as connection:  # the retry delay has passed
        await connection.execute(text("UPDATE messages SET due_at = now() WHERE id = :id"), {"id": during.id})
    await deliver(refused.confirmed())
    await send()
    await send()

    after = await _message(engine, visit.appointment_id)
    assert (after.status, await _attempts(engine, after.id)) == ("sent", ["failed_temporary", "sent"])
    assert len(inbox.to(visit.email)) == 1, "sent once, after the outage"
    bounced = await _message(engine, refused.appointment_id)
    assert (bounced.status, await _attempts(engine, bounced.id)) == ("failed_permanent", ["failed_permanent"])


async def test_staff_of_the_clinic_see_a_visits_messages_and_attempts(
    new_visit: NewVisit,
    deliver: Deliver,
    send: Send,
    inbox: Any,
    notifications: httpx.AsyncClient,
    test_env: TestEnvironment,
) -> None:
    visit = await new_visit()
    await deliver(visit.confirmed())
    await send()

    desk = test_env.auth_header(Role.FRONT_DESK, clinics=[visit.clinic_id])
    elsewhere = test_env.auth_header(Role.FRONT_DESK, clinics=[uuid.uuid4()])
    seen = await notifications.get(f"/appointments/{visit.appointment_id}/messages", headers=desk)
    assert seen.status_code == 200, seen.text
    [message] = seen.json()
    assert (message["kind"], message["status"], [a["status"] for a in message["attempts"]]) == (
        "confirmation", "sent", ["sent"],
    )  # fmt: skip
    assert visit.email not in seen.text, "no addresses in the record shown"
    assert (
        await notifications.get(f"/appointments/{visit.appointment_id}/messages", headers=elsewhere)
    ).status_code == 403
    assert (await notifications.get(f"/appointments/{uuid.uuid4()}/messages", headers=desk)).status_code == 404
