"""Channels end to end: texts through the fake SMS providers with failover and retries, e-mail when the
patient prefers it, invalid addresses failing once without a provider, and every outcome announced
through the outbox without personal data."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications.fake_sms import FakeProvider

pytestmark = pytest.mark.integration

NewVisit = Callable[..., Awaitable[Any]]
Deliver = Callable[..., Awaitable[None]]
Send = Callable[..., Awaitable[None]]
NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)
PHONE = "+31 6 1234 5678"


async def _confirmation(engine: AsyncEngine, appointment_id: uuid.UUID) -> Any:
    async with engine.connect() as connection:
        message = (
            await connection.execute(
                text("SELECT * FROM messages WHERE appointment_id = :id AND kind = 'confirmation'"),
                {"id": appointment_id},
            )
        ).one()
        attempts = (
            await connection.execute(
                text("SELECT provider, status, error FROM delivery_attempts WHERE message_id = :id ORDER BY id"),
                {"id": message.id},
            )
        ).all()
        events = list(
            await connection.scalars(
                text("SELECT body FROM outbox WHERE body->'payload'->>'message_id' = :id ORDER BY id"),
                {"id": str(message.id)},
            )
        )
    return message, [tuple(a) for a in attempts], events


async def test_a_patient_who_prefers_texts_gets_the_confirmation_by_sms(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, primary: FakeProvider, engine: AsyncEngine
) -> None:
    visit = await new_visit(phone=PHONE, preferred_channel="sms")
    await deliver(visit.confirmed(), at=NOW)
    await send(NOW)

    [sms] = await primary.received()
    assert sms["to"] == "+31612345678", "the number in E.164 form"
    assert "Canal District Skin Clinic" in sms["body"]
    assert "/manage/" in sms["body"]
    assert inbox.to(visit.email) == [], "one channel, the one preferred"
    message, attempts, [event] = await _confirmation(engine, visit.appointment_id)
    assert (message.channel, message.status, message.provider) == ("sms", "sent", "sms:primary")
    assert attempts == [("sms:primary", "sent", None)]
    assert event["type"] == "notifications.message.delivered"
    assert sms["to"] not in json.dumps(event), "no personal data in events"
    assert visit.email not in json.dumps(event)


async def test_the_fallback_provider_sends_when_the_primary_fails_and_an_outage_of_both_is_retried(
    new_visit: NewVisit, deliver: Deliver, send: Send, primary: FakeProvider, fallback: FakeProvider,
    engine: AsyncEngine,
) -> None:  # fmt: skip
    throttled, outage = (
        await new_visit(phone=PHONE, preferred_channel="sms"),
        await new_visit(phone="+31612345679", preferred_channel="sms"),
    )
    await primary.script("429")
    await deliver(throttled.confirmed(), at=NOW)
    await send(NOW)
    message, attempts, _ = await _confirmation(engine, throttled.appointment_id)
    assert (message.status, message.provider) == ("sent", "sms:fallback")
    assert attempts == [("sms:primary", "failed_temporary", "http 429"), ("sms:fallback", "sent", None)]

    await primary.script("500", times=2)
    await fallback.script("timeout")
    await deliver(outage.confirmed(), at=NOW)
    await send(NOW)
    message, attempts, [event] = await _confirmation(engine, outage.appointment_id)
    assert (message.status, message.attempts) == ("failed_temporary", 1)
    assert [a[1] for a in attempts] == ["failed_temporary", "failed_temporary"]
    assert message.due_at == NOW + timedelta(seconds=60), "tried again after the first delay"
    assert (event["type"], event["payload"]["permanent"]) == ("notifications.message.failed", False)

    await send(NOW + timedelta(seconds=30))
    assert (await _confirmation(engine, outage.appointment_id))[0].status == "failed_temporary", "not before its time"
    await send(NOW + timedelta(seconds=61))  # the primary still answers 500, the fallback has recovered
    message, attempts, _ = await _confirmation(engine, outage.appointment_id)
    assert (message.status, message.provider, message.attempts) == ("sent", "sms:fallback", 2)
    assert len([sms for sms in await fallback.received() if sms["to"] == "+31612345679"]) == 1, "sent once"


async def test_an_invalid_number_or_address_fails_once_without_asking_a_provider(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, primary: FakeProvider, engine: AsyncEngine
) -> None:
    bad_number = await new_visit(phone="12345", preferred_channel="sms", address="")
    bad_address = await new_visit(address="not-an-address")
    for visit in (bad_number, bad_address):
        await deliver(visit.confirmed(), at=NOW)
    await send(NOW)
    await send(NOW + timedelta(hours=1))

    assert await primary.received() == []
    assert inbox.received == []
    for visit, reason in ((bad_number, "invalid phone number"), (bad_address, "invalid e-mail address")):
        message, attempts, [event] = await _confirmation(engine, visit.appointment_id)
        assert (message.status, message.attempts, len(attempts)) == ("failed_permanent", 1, 1)
        assert attempts[0][2] == reason
        assert event["payload"]["permanent"] is True


async def test_without_an_email_address_the_text_is_the_way_and_without_either_nothing_is_sent(
    new_visit: NewVisit, deliver: Deliver, send: Send, primary: FakeProvider, engine: AsyncEngine
) -> None:
    text_only = await new_visit(phone=PHONE, address="")  # prefers e-mail, but has none
    unreachable = await new_visit(address="")
    for visit in (text_only, unreachable):
        await deliver(visit.confirmed(), at=NOW)
    await send(NOW)

    assert len(await primary.received()) == 1
    assert (await _confirmation(engine, text_only.appointment_id))[0].channel == "sms"
    message, attempts, events = await _confirmation(engine, unreachable.appointment_id)
    assert (message.status, attempts, events) == ("cancelled", [], [])
    assert "accepts care messages" in message.last_error
