"""What a review found, kept as tests: events out of order, moves back and forth, a cancellation
before the request, two senders and a slow mail server, a database blip, consent changed on both
sides, a recall's count of patients to phone, a template that would hold the API, the due time kept
for the record."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from clinic_shared.auth import Role
from clinic_shared.db import create_session_factory
from clinic_shared.events import catalogue
from clinic_shared.testing.plugin import TestEnvironment
from notifications.adapters.repositories import NotKnownYet
from notifications.fake_sms import FakeProvider
from notifications.service import rendering, sending
from notifications.settings import NotificationsSettings

pytestmark = pytest.mark.integration

NewVisit = Callable[..., Awaitable[Any]]
Deliver = Callable[..., Awaitable[None]]
Send = Callable[..., Awaitable[None]]
NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def _plain(mail: Any) -> str:
    return str(mail.get_body(preferencelist=("plain",)).get_content())


def _move(visit: Any, frm: datetime, to: datetime) -> catalogue.AppointmentRescheduled:
    return catalogue.AppointmentRescheduled(
        appointment_id=visit.appointment_id, clinic_id=visit.clinic_id, patient_id=visit.patient_id,
        previous_starts_at=frm, starts_at=to, ends_at=to + timedelta(minutes=75), areas=["face", "neck"],
        practitioner_id=uuid.uuid4(), room_id=uuid.uuid4(), device_id=uuid.uuid4(),
    )  # fmt: skip


async def _rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as connection:
        return list(await connection.execute(text(sql), params))


async def _confirmed_and_sent(new_visit: NewVisit, deliver: Deliver, send: Send, **kw: Any) -> Any:
    visit = await new_visit(**kw)
    await deliver(visit.requested(), at=NOW)
    await deliver(visit.confirmed(), at=NOW)
    await send(NOW)
    return visit


async def test_moves_handled_out_of_order_leave_the_newest_time_and_announce_it(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine
) -> None:
    visit = await _confirmed_and_sent(new_visit, deliver, send)
    t1, t2 = utc(2027, 3, 4, 13, 0), utc(2027, 3, 5, 13, 0)
    await deliver(_move(visit, t1, t2), at=NOW + timedelta(days=2, minutes=1))  # the second move first
    await deliver(_move(visit, visit.starts_at, t1), at=NOW + timedelta(days=2))
    await send(NOW + timedelta(days=2, minutes=2))

    [row] = await _rows(
        engine, "SELECT starts_at FROM appointments WHERE appointment_id = :id", id=visit.appointment_id
    )
    assert row.starts_at == t2
    _, notice = inbox.to(visit.email)
    assert "Friday 5 March 2027, 14:00" in _plain(notice)
    [reminder] = await _rows(
        engine, "SELECT due_at FROM messages WHERE appointment_id = :id AND kind = 'reminder' AND status = 'queued'",
        id=visit.appointment_id,
    )  # fmt: skip
    assert reminder.due_at == t2 - timedelta(hours=24)


async def test_a_late_confirmation_does_not_undo_a_move_and_carries_the_new_time(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any
) -> None:
    visit = await new_visit()
    await deliver(visit.requested(), at=NOW)
    moved_to = utc(2027, 3, 4, 13, 0)
    await deliver(_move(visit, visit.starts_at, moved_to), at=NOW + timedelta(minutes=5))
    await deliver(visit.confirmed(), at=NOW)  # retried, so handled after the move
    await send(NOW + timedelta(minutes=6))

    [confirmation] = inbox.to(visit.email)
    assert "Thursday 4 March 2027, 14:00" in _plain(confirmation)


async def test_moving_back_and_forth_announces_every_move_and_revives_the_reminder(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine
) -> None:
    visit = await _confirmed_and_sent(new_visit, deliver, send)
    a, b = visit.starts_at, utc(2027, 3, 9, 9, 0)
    for hour, (frm, to) in enumerate([(a, b), (b, a), (a, b), (b, a)]):
        at = NOW + timedelta(days=1, hours=hour)
        await deliver(_move(visit, frm, to), at=at)
        await send(at + timedelta(seconds=5))

    mails = inbox.to(visit.email)
    assert len(mails) == 5, [m["Subject"] for m in mails]
    assert "Tuesday 2 March 2027, 10:00" in _plain(mails[-1]), "the last move, back to the first time"
    waiting = await _rows(
        engine, "SELECT due_at FROM messages WHERE appointment_id = :id AND kind = 'reminder' AND status = 'queued'",
        id=visit.appointment_id,
    )  # fmt: skip
    assert [row.due_at for row in waiting] == [a - timedelta(hours=24)], "one reminder, for the time that holds"


async def test_moving_back_to_a_time_already_reminded_of_does_not_fail(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any
) -> None:
    visit = await _confirmed_and_sent(new_visit, deliver, send)
    await send(utc(2027, 3, 1, 9, 0, 5))  # the reminder for 2 March went
    b = utc(2027, 3, 9, 9, 0)
    await deliver(_move(visit, visit.starts_at, b), at=utc(2027, 3, 1, 10, 0))
    await deliver(_move(visit, b, visit.starts_at), at=utc(2027, 3, 1, 11, 0))  # raised a unique violation once
    await send(utc(2027, 3, 1, 11, 0, 5))
    mails = inbox.to(visit.email)
    assert len(mails) == 3, "confirmation, reminder, and the move that holds (the first was superseded unsent)"
    assert "Tuesday 2 March 2027, 10:00" in _plain(mails[-1])


async def test_a_cancellation_handled_before_its_request_and_confirmation_leaves_nothing_to_send(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine
) -> None:
    visit = await new_visit()
    cancelled = catalogue.AppointmentCancelled(
        appointment_id=visit.appointment_id, clinic_id=visit.clinic_id, patient_id=visit.patient_id,
        cancelled_by="patient",
    )  # fmt: skip
    await deliver(cancelled, at=NOW + timedelta(minutes=10))
    await deliver(visit.requested(), at=NOW)
    await deliver(visit.confirmed(), at=NOW + timedelta(minutes=1))
    await send(utc(2027, 3, 1, 9, 0, 5))

    assert inbox.to(visit.email) == []
    [row] = await _rows(engine, "SELECT status FROM appointments WHERE appointment_id = :id", id=visit.appointment_id)
    assert row.status == "cancelled"


async def test_two_senders_and_a_slow_mail_server_send_each_message_once(
    new_visit: NewVisit, deliver: Deliver, inbox: Any, engine: AsyncEngine, settings: NotificationsSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    visits = [await new_visit() for _ in range(2)]
    for visit in visits:
        await deliver(visit.confirmed(), at=NOW)
    real, calls = sending.smtp.send, []

    def slow(configured: NotificationsSettings, outgoing: Any) -> str:
        calls.append(outgoing.to)
        if len(calls) == 1:
            time.sleep(2)  # the first message of worker A's batch meets a slow server
        return real(configured, outgoing)

    monkeypatch.setattr(sending.smtp, "send", slow)
    factory = create_session_factory(engine)
    # A claims its batch at NOW; by the time it sends the first message its clock reads almost the stuck
    # limit later (the batch took long), and B's reads past it: B takes over what A has not started.
    readings = iter([NOW])

    def a_clock() -> datetime:
        return next(readings, NOW + timedelta(seconds=settings.stuck_sending_s - 10))

    worker_a = asyncio.create_task(sending.send_due(factory, settings, now=a_clock))
    await asyncio.sleep(0.7)  # A has claimed both and waits on the first
    later = NOW + timedelta(seconds=settings.stuck_sending_s + 1)
    await sending.send_due(factory, settings, now=lambda: later)  # B thinks A died
    await worker_a

    assert {visit.email: len(inbox.to(visit.email)) for visit in visits} == {visit.email: 1 for visit in visits}


async def test_a_database_blip_delays_a_message_instead_of_failing_it(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    visit = await new_visit()
    await deliver(visit.confirmed(), at=NOW)
    real = rendering.current_source

    async def blip(*args: Any, **kwargs: Any) -> str:
        raise OperationalError("SELECT templates", {}, ConnectionResetError("connection reset"))

    monkeypatch.setattr(rendering, "current_source", blip)
    await send(NOW)
    monkeypatch.setattr(rendering, "current_source", real)
    [during] = await _rows(
        engine, "SELECT status FROM messages WHERE appointment_id = :id AND kind = 'confirmation'",
        id=visit.appointment_id,
    )  # fmt: skip
    await send(NOW + timedelta(hours=1))

    assert during.status == "failed_temporary"
    assert len(inbox.to(visit.email)) == 1


async def test_the_due_time_is_kept_for_the_record_when_the_message_is_sent_late(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine
) -> None:
    visit = await new_visit()
    await deliver(visit.confirmed(), at=NOW)
    await send(NOW + timedelta(minutes=30))
    [row] = await _rows(
        engine, "SELECT due_at, sent_at FROM messages WHERE appointment_id = :id AND kind = 'confirmation'",
        id=visit.appointment_id,
    )  # fmt: skip
    assert row.sent_at - row.due_at == timedelta(minutes=30)


async def test_an_unusable_email_address_falls_back_to_a_usable_phone(
    new_visit: NewVisit, deliver: Deliver, send: Send, primary: FakeProvider
) -> None:
    visit = await new_visit(address="sam@@example", phone="+31612345678")
    await deliver(visit.confirmed(), at=NOW)
    await send(NOW)
    assert [sms["to"] for sms in await primary.received()] == ["+31612345678"]


async def test_a_later_withdrawal_at_booking_beats_an_older_choice_through_the_link(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, notifications: httpx.AsyncClient,
    engine: AsyncEngine,
) -> None:  # fmt: skip
    visit = await _confirmed_and_sent(new_visit, deliver, send, marketing_consent=True)
    token = re.findall(r"/p/preferences\?token=(\S+)", _plain(inbox.to(visit.email)[0]))[0]
    opted_in = await notifications.put(
        "/preferences", json={"email": {"marketing": True}}, headers={"Authorization": f"Bearer {token}"}
    )
    assert opted_in.status_code == 200
    await asyncio.sleep(0.01)
    await deliver(
        catalogue.PatientContactChanged(
            patient_id=visit.patient_id, revision=2, display_name="Sam Patient", email=visit.email,
            preferred_channel="email", care_messages_consent=True, marketing_consent=False,
        ),
        at=datetime.now(UTC),
    )  # fmt: skip
    done = utc(2027, 3, 2, 10, 30)
    window = catalogue.NextSession(session_number=2, first_day=date(2027, 3, 30), last_day=date(2027, 4, 13))
    await deliver(visit.completed(done, window), at=done)
    await send(utc(2027, 3, 24, 9, 0))

    [row] = await _rows(
        engine, "SELECT status FROM messages WHERE appointment_id = :id AND kind = 'next_session'",
        id=visit.appointment_id,
    )  # fmt: skip
    assert row.status == "cancelled"


async def test_a_recall_counts_patients_the_sender_cannot_reach_as_to_phone(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, notifications: httpx.AsyncClient,
    test_env: TestEnvironment,
) -> None:  # fmt: skip
    opted_out = await _confirmed_and_sent(new_visit, deliver, send)
    bad_address = await new_visit(clinic_id=opted_out.clinic_id, address="not-an-address")
    token = re.findall(r"/p/preferences\?token=(\S+)", _plain(inbox.to(opted_out.email)[0]))[0]
    await notifications.put(
        "/preferences", json={"email": {"care": False}}, headers={"Authorization": f"Bearer {token}"}
    )
    await deliver(bad_address.confirmed(), at=NOW)
    for visit in (opted_out, bad_address):
        await deliver(
            visit.completed(),
            at=visit.starts_at,
        )  # fmt: skip
    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[opted_out.clinic_id])
    await notifications.put(
        f"/clinics/{opted_out.clinic_id}/alert-recipients", json={"emails": ["lead@clinic.example"]}, headers=manager
    )
    at = utc(2027, 3, 10, 9, 0)
    await deliver(
        catalogue.LotRecalled(
            recall_id=uuid.uuid4(), item_id=uuid.uuid4(), item_name="Nano cartridge", lot_number="L1",
            affected_appointments=[
                catalogue.AffectedAppointment(appointment_id=v.appointment_id, clinic_id=v.clinic_id)
                for v in (opted_out, bad_address)
            ],
        ),
        at=at,
    )  # fmt: skip
    await send(at)

    [alert] = inbox.to("lead@clinic.example")
    assert "Patients sent a recall notice: 0" in _plain(alert)
    assert "Patients who could not be reached by message: 2" in _plain(alert)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}x", "takes more than"),
        ("{{ name * 1000000 }}", "does not render"),
        ("{{ 9 ** 9 ** 9 }}", "does not render"),
    ],
)
async def test_a_template_that_would_hold_the_api_is_refused_quickly(
    body: str, why: str, new_visit: NewVisit, notifications: httpx.AsyncClient, test_env: TestEnvironment
) -> None:
    visit = await new_visit()
    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[visit.clinic_id])
    started = time.monotonic()
    source = "{% block body %}" + body + "{% endblock %}"
    path = f"/clinics/{visit.clinic_id}/templates/reminder/sms"
    refused = await notifications.put(path, json={"source": source}, headers=manager)
    assert (refused.status_code, refused.json()["code"]) == (422, "template_refused")
    assert why in refused.json()["message"]
    assert time.monotonic() - started < 10


async def test_a_period_beyond_the_calendar_is_a_clear_422(
    new_visit: NewVisit, notifications: httpx.AsyncClient, test_env: TestEnvironment
) -> None:
    visit = await new_visit()
    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[visit.clinic_id])
    answer = await notifications.get(
        f"/clinics/{visit.clinic_id}/delivery-stats", params={"until": "0001-01-05T00:00:00Z"}, headers=manager
    )
    assert answer.status_code == 422


async def test_unsubscribing_from_suggestions_survives_a_change_of_the_other_consent_at_booking(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, notifications: httpx.AsyncClient
) -> None:
    visit = await _confirmed_and_sent(new_visit, deliver, send, marketing_consent=True)
    token = re.findall(r"/p/preferences\?token=(\S+)", _plain(inbox.to(visit.email)[0]))[0]
    link = {"Authorization": f"Bearer {token}"}
    await notifications.put("/preferences", json={"email": {"marketing": False}}, headers=link)
    await asyncio.sleep(0.01)
    await deliver(
        catalogue.PatientContactChanged(
            patient_id=visit.patient_id, revision=2, display_name="Sam Patient", email=visit.email,
            preferred_channel="email", care_messages_consent=False, marketing_consent=True,
        ),
        at=datetime.now(UTC),
    )  # fmt: skip
    choices = (await notifications.get("/preferences", headers=link)).json()["email"]
    assert choices == {"care": False, "marketing": False}, "care follows booking's change; marketing stays off"


async def test_a_clinic_template_that_is_slow_only_with_real_data_fails_its_message_and_holds_nothing(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine,
    notifications: httpx.AsyncClient, test_env: TestEnvironment,
) -> None:  # fmt: skip
    slow_clinic = await new_visit()
    elsewhere = await new_visit()
    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[slow_clinic.clinic_id])
    trap = (
        "{% block subject %}Hi{% endblock %}{% block body %}{% if name != 'Sam Jansen' %}"
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}{% endif %}ok{% endblock %}"
    )
    saved = await notifications.put(
        f"/clinics/{slow_clinic.clinic_id}/templates/confirmation/email", json={"source": trap}, headers=manager
    )
    assert saved.status_code == 200, "fast with the sample data, so it passes the check"
    for visit in (slow_clinic, elsewhere):
        await deliver(visit.confirmed(), at=NOW)
    started = time.monotonic()
    await send(NOW)

    assert time.monotonic() - started < 15
    [failed] = await _rows(
        engine, "SELECT status, last_error FROM messages WHERE appointment_id = :id AND kind = 'confirmation'",
        id=slow_clinic.appointment_id,
    )  # fmt: skip
    assert failed.status == "failed_permanent"
    assert "TemplateTooSlow" in failed.last_error
    assert len(inbox.to(elsewhere.email)) == 1, "the other clinic's message went"


async def test_a_message_the_server_took_is_sent_even_if_it_then_answers_quit_badly(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine
) -> None:
    visit = await new_visit()
    await deliver(visit.confirmed(), at=NOW)
    inbox.bad_goodbye = True
    try:
        await send(NOW)
        await send(NOW + timedelta(hours=1))
    finally:
        inbox.bad_goodbye = False
    [row] = await _rows(
        engine, "SELECT status FROM messages WHERE appointment_id = :id AND kind = 'confirmation'",
        id=visit.appointment_id,
    )  # fmt: skip
    assert row.status == "sent"
    assert len(inbox.to(visit.email)) == 1, "not a second copy"


async def test_an_alert_for_a_clinic_not_known_yet_waits_for_it(deliver: Deliver) -> None:
    stranger = catalogue.StockLow(
        clinic_id=uuid.uuid4(), item_id=uuid.uuid4(), item_name="Nano cartridge", available=1, reorder_point=5,
        unit="each",
    )  # fmt: skip
    with pytest.raises(NotKnownYet, match="clinic"):
        await deliver(stranger)


async def test_managers_saving_the_alert_list_at_once_all_get_an_answer_and_one_list_wins(
    new_visit: NewVisit, notifications: httpx.AsyncClient, test_env: TestEnvironment
) -> None:
    clinic = (await new_visit()).clinic_id
    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[clinic])
    path = f"/clinics/{clinic}/alert-recipients"
    lists = [[f"m{n}@clinic.example", "lead@clinic.example"] for n in range(4)]
    answers = await asyncio.gather(*(notifications.put(path, json={"emails": e}, headers=manager) for e in lists))
    assert [a.status_code for a in answers] == [200] * 4
    final = (await notifications.get(path, headers=manager)).json()["emails"]
    assert final in [sorted(e) for e in lists]


@pytest.mark.parametrize("params", [{"since": "0001-01-01T00:00:00+05:00"}, {"until": "9999-12-31T23:59:59-05:00"}])
async def test_a_period_that_leaves_the_calendar_in_utc_is_a_clear_422(
    params: dict[str, str], new_visit: NewVisit, notifications: httpx.AsyncClient, test_env: TestEnvironment
) -> None:
    visit = await new_visit()
    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[visit.clinic_id])
    answer = await notifications.get(f"/clinics/{visit.clinic_id}/delivery-stats", params=params, headers=manager)
    assert answer.status_code == 422


async def test_a_message_waiting_for_a_patient_who_prefers_texts_shows_the_text_channel(
    new_visit: NewVisit, deliver: Deliver, notifications: httpx.AsyncClient, test_env: TestEnvironment,
    engine: AsyncEngine,
) -> None:  # fmt: skip
    visit = await new_visit(phone="+31612345678", preferred_channel="sms")
    await deliver(visit.confirmed(), at=NOW)
    desk = test_env.auth_header(Role.FRONT_DESK, clinics=[visit.clinic_id])
    planned = (await notifications.get(f"/appointments/{visit.appointment_id}/messages", headers=desk)).json()
    assert {m["channel"] for m in planned} == {"sms"}
    async with engine.begin() as connection:  # leave no text due for later tests' senders
        await connection.execute(
            text("UPDATE messages SET status = 'cancelled' WHERE appointment_id = :id"), {"id": visit.appointment_id}
        )
