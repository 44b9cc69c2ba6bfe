"""Booking confirmations by e-mail, through a real SMTP server: the message, its calendar file and
manage link; consent and erasure; duplicates; outages and refused addresses in the delivery record."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from clinic_shared import manage_links
from clinic_shared.auth import Role
from clinic_shared.events import catalogue
from clinic_shared.testing.plugin import TestEnvironment
from notifications.adapters.repositories import NotKnownYet
from notifications.settings import NotificationsSettings

pytestmark = pytest.mark.integration

NewVisit = Callable[..., Awaitable[Any]]
Deliver = Callable[[Any], Awaitable[None]]
Send = Callable[[], Awaitable[None]]


async def _message(engine: AsyncEngine, appointment_id: uuid.UUID, kind: str = "confirmation") -> Any:
    async with engine.connect() as connection:
        return (
            await connection.execute(
                text(
                    "SELECT id, status, attempts, last_error FROM messages WHERE appointment_id = :id AND kind = :kind"
                ),
                {"id": appointment_id, "kind": kind},
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
    assert "Tuesday 2 March 2027, 10:00 (Europe/Amsterdam time)" in body, "the clinic's local time"
    assert "Canal District Skin Clinic" in body
    assert "face and neck" in body
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

    for visit in (no_consent, erased):
        assert inbox.to(visit.email) == []
    [notice] = inbox.to(cancelled.email)
    assert "cancelled" in notice["Subject"], "only the notice that the visit is cancelled"
    async with engine.connect() as connection:
        forgotten = (
            await connection.execute(
                text("SELECT display_name, email FROM recipients WHERE patient_id = :id"), {"id": erased.patient_id}
            )
        ).one()
    unconsented = await _message(engine, no_consent.appointment_id)
    assert (unconsented.status, unconsented.attempts) == ("cancelled", 0)
    assert "accepts care messages" in unconsented.last_error
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

    async with engine.connect() as connection:
        wait = await connection.scalar(
            text("SELECT extract(epoch FROM due_at - now()) FROM messages WHERE id = :id"), {"id": during.id}
        )
    assert 55 < wait <= 60, "tried again after the first delay (retry_base_s = 60 in these tests), not at once"
    await send()
    assert await _attempts(engine, during.id) == ["failed_temporary"], "not before its time"

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
    confirmation, reminder = seen.json()
    assert (confirmation["kind"], confirmation["status"], [a["status"] for a in confirmation["attempts"]]) == (
        "confirmation", "sent", ["sent"],
    )  # fmt: skip
    assert (reminder["kind"], reminder["status"], reminder["attempts"]) == ("reminder", "queued", [])
    assert visit.email not in seen.text, "no addresses in the record shown"
    assert (
        await notifications.get(f"/appointments/{visit.appointment_id}/messages", headers=elsewhere)
    ).status_code == 403
    assert (await notifications.get(f"/appointments/{uuid.uuid4()}/messages", headers=desk)).status_code == 404


async def test_a_cancellation_that_overtakes_the_confirmation_leaves_nothing_to_send(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine
) -> None:
    visit = await new_visit()
    await deliver(visit.requested())
    await deliver(
        catalogue.AppointmentCancelled(
            appointment_id=visit.appointment_id, clinic_id=visit.clinic_id, patient_id=visit.patient_id,
            cancelled_by="patient",
        )
    )  # fmt: skip
    await deliver(visit.confirmed())  # a retried confirmation arriving late
    await send()
    [notice] = inbox.to(visit.email)
    assert "cancelled" in notice["Subject"], "the cancellation only, never the late confirmation"
    assert (await _message(engine, visit.appointment_id)).status == "cancelled"
    async with engine.connect() as connection:
        kinds = await connection.scalars(
            text("SELECT kind FROM messages WHERE appointment_id = :id ORDER BY kind"), {"id": visit.appointment_id}
        )
        assert list(kinds) == ["cancelled", "confirmation"], "no reminder for a visit cancelled before"


async def test_a_moved_visit_is_confirmed_with_its_new_time(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any
) -> None:
    visit = await new_visit()
    await deliver(visit.confirmed())
    moved_to = visit.starts_at + timedelta(days=1, hours=2)
    await deliver(
        catalogue.AppointmentRescheduled(
            appointment_id=visit.appointment_id, clinic_id=visit.clinic_id, patient_id=visit.patient_id,
            previous_starts_at=visit.starts_at, starts_at=moved_to, ends_at=moved_to + timedelta(minutes=75),
            areas=["face"], practitioner_id=uuid.uuid4(), room_id=uuid.uuid4(), device_id=uuid.uuid4(),
        )
    )  # fmt: skip
    await send()
    [mail] = inbox.to(visit.email)
    assert "is confirmed" in mail["Subject"], "one confirmation with the new time, no separate notice of the move"
    assert "Wednesday 3 March 2027, 12:00" in mail.get_body(preferencelist=("plain",)).get_content()


async def test_gives_up_after_the_last_attempt_and_picks_up_a_message_a_dead_worker_left(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine
) -> None:
    given_up, stuck = await new_visit(), await new_visit()
    await deliver(given_up.confirmed())
    await deliver(stuck.confirmed())
    inbox.stop()
    for _ in range(3):  # max_attempts = 3 in these tests
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE messages SET due_at = now() WHERE appointment_id = :id AND status <> 'failed_permanent'"),
                {"id": given_up.appointment_id},
            )
        await send()
    failed = await _message(engine, given_up.appointment_id)
    assert (failed.status, failed.attempts) == ("failed_permanent", 3)
    assert "gave up after 3 attempts" in failed.last_error

    async with engine.begin() as connection:  # a worker claimed it and died ten minutes ago
        await connection.execute(
            text(
                "UPDATE messages SET status = 'sending', claim = gen_random_uuid(),"
                " claimed_at = now() - interval '10 minutes' WHERE appointment_id = :id AND kind = 'confirmation'"
            ),
            {"id": stuck.appointment_id},
        )
    inbox.start(inbox.port)
    await send()
    assert (await _message(engine, stuck.appointment_id)).status == "sent"
    assert len(inbox.to(stuck.email)) == 1


async def test_a_message_that_cannot_be_built_fails_once_and_does_not_block_the_others(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine
) -> None:
    broken, fine = await new_visit(), await new_visit()
    await deliver(broken.confirmed())
    await deliver(fine.confirmed())
    async with engine.begin() as connection:  # a clinic time zone the sender cannot use
        await connection.execute(
            text("UPDATE clinics SET timezone = 'Nowhere/Atlantis' WHERE id = :id"), {"id": broken.clinic_id}
        )
    await send()
    failed = await _message(engine, broken.appointment_id)
    assert (failed.status, failed.attempts) == ("failed_permanent", 1)
    assert len(inbox.to(fine.email)) == 1
    await send()
    assert (await _message(engine, broken.appointment_id)).attempts == 1, "not retried"


async def test_an_event_about_a_clinic_not_known_yet_waits_for_a_retry_and_changes_nothing(
    new_visit: NewVisit, deliver: Deliver, engine: AsyncEngine
) -> None:
    visit = await new_visit()
    elsewhere = catalogue.AppointmentConfirmed(
        appointment_id=uuid.uuid4(), clinic_id=uuid.uuid4(), patient_id=visit.patient_id,
        starts_at=visit.starts_at, ends_at=visit.starts_at + timedelta(hours=1), areas=["face"],
        practitioner_id=uuid.uuid4(),
    )  # fmt: skip

    with pytest.raises(NotKnownYet, match="clinic"):  # the consumer retries it, then parks it with the reason
        await deliver(elsewhere)
    async with engine.connect() as connection:
        written = await connection.scalar(
            text("SELECT count(*) FROM messages WHERE appointment_id = :a"), {"a": elsewhere.appointment_id}
        )
    assert written == 0, "nothing half-written"


async def test_a_confirmation_that_overtakes_the_patients_details_waits_for_them_at_the_sender(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine
) -> None:
    clinic = await new_visit()
    stranger = await new_visit(clinic_id=clinic.clinic_id, patient_id=uuid.uuid4())  # details not delivered yet
    await deliver(stranger.confirmed())
    await send()
    waiting = await _message(engine, stranger.appointment_id)
    assert (waiting.status, waiting.attempts) == ("queued", 0), "deferred, not failed and not dropped"

    await deliver(
        catalogue.PatientContactChanged(
            patient_id=stranger.patient_id, revision=1, display_name="Late Details", email="late@example.org",
            preferred_channel="email", care_messages_consent=True, marketing_consent=False,
        )
    )  # fmt: skip
    async with engine.begin() as connection:  # its next look comes round
        await connection.execute(text("UPDATE messages SET due_at = now() WHERE id = :id"), {"id": waiting.id})
    await send()
    assert len(inbox.to("late@example.org")) == 1
