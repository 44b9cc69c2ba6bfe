"""Messages over time, with the sender's clock in the test's hand: the reminder before the visit, moved
by a reschedule and cancelled by a cancellation; quiet hours; the aftercare sequence; the next-session
suggestion with marketing consent only."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from clinic_shared.auth import Role
from clinic_shared.events import catalogue

pytestmark = pytest.mark.integration

NewVisit = Callable[..., Awaitable[Any]]
Deliver = Callable[..., Awaitable[None]]
Send = Callable[..., Awaitable[None]]
BOOKED_AT = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


async def _due(engine: AsyncEngine, appointment_id: uuid.UUID) -> dict[str, tuple[str, datetime]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT kind, status, due_at FROM messages WHERE appointment_id = :id"), {"id": appointment_id}
        )
        return {row.kind: (row.status, row.due_at) for row in rows}


def _plain(mail: Any) -> str:
    return str(mail.get_body(preferencelist=("plain",)).get_content())


def _moved(visit: Any, to: datetime) -> catalogue.AppointmentRescheduled:
    return catalogue.AppointmentRescheduled(
        appointment_id=visit.appointment_id, clinic_id=visit.clinic_id, patient_id=visit.patient_id,
        previous_starts_at=visit.starts_at, starts_at=to, ends_at=to + timedelta(minutes=75), areas=["face", "neck"],
        practitioner_id=uuid.uuid4(), room_id=uuid.uuid4(), device_id=uuid.uuid4(),
    )  # fmt: skip


async def test_the_reminder_goes_a_day_before_and_follows_the_visit_when_it_moves(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine
) -> None:
    visit = await new_visit()  # Tuesday 2 March 2027, 10:00 in Amsterdam
    await deliver(visit.requested(), at=BOOKED_AT)
    await deliver(visit.confirmed(), at=BOOKED_AT)
    await send(BOOKED_AT)
    assert (await _due(engine, visit.appointment_id))["reminder"] == ("queued", utc(2027, 3, 1, 9, 0))

    moved_to = utc(2027, 3, 4, 13, 0)  # Thursday 14:00 in Amsterdam
    await deliver(_moved(visit, moved_to), at=BOOKED_AT + timedelta(days=3))
    await send(BOOKED_AT + timedelta(days=3))
    assert (await _due(engine, visit.appointment_id))["reminder"] == ("queued", utc(2027, 3, 3, 13, 0))
    await send(utc(2027, 3, 1, 9, 1))  # the old reminder time: nothing
    assert len(inbox.to(visit.email)) == 2, "the confirmation and the notice of the move"
    await send(utc(2027, 3, 3, 13, 0, 5))

    confirmation, moved, reminder = inbox.to(visit.email)
    assert "is confirmed" in confirmation["Subject"]
    assert "Thursday 4 March 2027, 14:00" in _plain(moved)
    assert "Tuesday 2 March 2027, 10:00" in _plain(moved), "the old time, for reference"
    [calendar] = [part.get_content() for part in moved.iter_attachments()]
    calendar = calendar if isinstance(calendar, str) else calendar.decode()
    assert "DTSTART:20270304T130000Z" in calendar
    assert f"UID:{visit.appointment_id}@clinic" in calendar, "the same event, updated in the patient's calendar"
    assert "Reminder" in reminder["Subject"]
    assert "Thursday 4 March" in reminder["Subject"]
    await send(utc(2027, 3, 3, 14, 0))
    assert len(inbox.to(visit.email)) == 3, "one reminder"


async def test_a_cancelled_visit_gets_its_notice_and_no_reminder(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine
) -> None:
    visit = await new_visit()
    await deliver(visit.requested(), at=BOOKED_AT)
    await deliver(visit.confirmed(), at=BOOKED_AT)
    await send(BOOKED_AT)
    cancelled = catalogue.AppointmentCancelled(
        appointment_id=visit.appointment_id, clinic_id=visit.clinic_id, patient_id=visit.patient_id,
        cancelled_by="staff",
    )  # fmt: skip
    await deliver(cancelled, at=BOOKED_AT + timedelta(days=1))
    await deliver(cancelled, at=BOOKED_AT + timedelta(days=1))  # twice: one notice
    await send(BOOKED_AT + timedelta(days=1))
    await send(utc(2027, 3, 1, 9, 1))

    _, notice = inbox.to(visit.email)
    assert "cancelled" in notice["Subject"]
    assert "sorry" in _plain(notice).lower(), "the clinic cancelled: an apology"
    [calendar] = [part for part in notice.iter_attachments()]
    assert calendar.get_param("method") == "CANCEL"
    assert (await _due(engine, visit.appointment_id))["reminder"][0] == "cancelled"


async def test_a_visit_booked_for_tomorrow_morning_gets_no_reminder_an_hour_later(
    new_visit: NewVisit, deliver: Deliver, send: Send, engine: AsyncEngine
) -> None:
    visit = await new_visit()
    await deliver(visit.confirmed(), at=visit.starts_at - timedelta(hours=20))
    assert set(await _due(engine, visit.appointment_id)) == {"confirmation"}


async def test_quiet_hours_hold_an_early_reminder_until_morning_and_never_drop_it(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine
) -> None:
    visit = await new_visit(starts_at=utc(2027, 3, 2, 6, 30))  # 07:30 in Amsterdam
    await deliver(visit.confirmed(), at=BOOKED_AT)
    # 24 hours before is 07:30, inside the quiet hours (21:00-08:00): it waits for 08:00, 07:00 UTC.
    assert (await _due(engine, visit.appointment_id))["reminder"] == ("queued", utc(2027, 3, 1, 7, 0))

    # A retry that comes due at night is deferred when its turn comes, not sent and not dropped.
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE messages SET due_at = :at WHERE appointment_id = :id AND kind = 'reminder'"),
            {"at": utc(2027, 2, 27, 22, 0), "id": visit.appointment_id},
        )
    await send(utc(2027, 2, 27, 22, 0))
    assert (await _due(engine, visit.appointment_id))["reminder"] == ("queued", utc(2027, 2, 28, 7, 0))
    assert [m["Subject"] for m in inbox.to(visit.email) if "Reminder" in m["Subject"]] == []
    await send(utc(2027, 2, 28, 7, 0))
    assert any("Reminder" in m["Subject"] for m in inbox.to(visit.email))


async def test_a_clinic_sets_its_own_reminder_lead_and_quiet_hours(
    new_visit: NewVisit, deliver: Deliver, engine: AsyncEngine, notifications: Any, test_env: Any
) -> None:
    visit = await new_visit()
    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[visit.clinic_id])
    path = f"/clinics/{visit.clinic_id}/messaging-policy"
    assert (await notifications.get(path, headers=manager)).json()["reminder_lead_hours"] == 24
    changed = await notifications.put(
        path, json={"reminder_lead_hours": 48, "quiet_start": "22:00", "quiet_end": "07:30"}, headers=manager
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["is_default"] is False
    refused = await notifications.put(
        path, json={"reminder_lead_hours": 0, "quiet_start": "22:00", "quiet_end": "07:30"}, headers=manager
    )
    assert refused.status_code == 422

    await deliver(visit.confirmed(), at=BOOKED_AT)
    assert (await _due(engine, visit.appointment_id))["reminder"] == ("queued", utc(2027, 2, 28, 9, 0))


async def test_aftercare_goes_that_evening_the_next_morning_and_three_days_later(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine
) -> None:
    visit = await new_visit()
    await deliver(visit.confirmed(), at=BOOKED_AT)
    done_at = utc(2027, 3, 2, 10, 30)  # 11:30 in Amsterdam
    await deliver(visit.completed(done_at), at=done_at)
    await deliver(visit.completed(done_at), at=done_at)  # a duplicate sends nothing more

    due = await _due(engine, visit.appointment_id)
    assert due["aftercare_same_day"] == ("queued", utc(2027, 3, 2, 11, 30))
    assert due["aftercare_next_day"] == ("queued", utc(2027, 3, 3, 9, 0))
    assert due["aftercare_check"] == ("queued", utc(2027, 3, 5, 9, 0))
    assert due["reminder"][0] == "cancelled", "the visit took place"
    before = len(inbox.to(visit.email))
    for moment in (utc(2027, 3, 2, 11, 30), utc(2027, 3, 3, 9, 0), utc(2027, 3, 5, 9, 0)):
        await send(moment)
        await send(moment)
    same_day, next_day, check = inbox.to(visit.email)[before:]
    assert "+31 20 555 0120" in _plain(check), "whom to call if the redness has not settled"
    assert all("sun" in _plain(mail).lower() for mail in (same_day, next_day))
    for mail in (same_day, next_day, check):
        assert "unsubscribe" not in _plain(mail).lower(), "care messages have no unsubscribe link"
        assert "/p/preferences?token=" in _plain(mail)


async def test_the_next_session_is_suggested_with_marketing_consent_unless_it_is_already_booked(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine
) -> None:
    window = catalogue.NextSession(session_number=2, first_day=date(2027, 3, 30), last_day=date(2027, 4, 13))
    welcome, declined, booked = (
        await new_visit(marketing_consent=True),
        await new_visit(),
        await new_visit(marketing_consent=True),
    )
    done_at = utc(2027, 3, 2, 10, 30)
    for visit in (welcome, declined, booked):
        await deliver(visit.confirmed(), at=BOOKED_AT)
        await deliver(visit.completed(done_at, window), at=done_at)
    later = await new_visit(clinic_id=booked.clinic_id, patient_id=booked.patient_id,
                            starts_at=utc(2027, 3, 31, 9, 0))  # fmt: skip
    await deliver(later.confirmed(), at=utc(2027, 3, 10, 9, 0))

    await send(utc(2027, 3, 23, 9, 0))  # a week before the window opens, 10:00 in Amsterdam

    [suggestion] = [m for m in inbox.to(welcome.email) if "session" in m["Subject"].lower()]
    body = _plain(suggestion)
    assert "Tuesday 30 March" in body
    assert "/p/unsubscribe?token=" in body
    assert suggestion["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/p/unsubscribe?token=" in suggestion["List-Unsubscribe"]
    assert (await _due(engine, declined.appointment_id))["next_session"][0] == "cancelled"
    assert (await _due(engine, booked.appointment_id))["next_session"][0] == "cancelled"
    async with engine.connect() as connection:
        reason = await connection.scalar(
            text("SELECT last_error FROM messages WHERE appointment_id = :id AND kind = 'next_session'"),
            {"id": booked.appointment_id},
        )
    assert reason == "the next session is booked"
