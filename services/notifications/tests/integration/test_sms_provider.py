"""Texts through the SMS providers: two real fake providers (`notifications.fake_sms`) on 127.0.0.1, a
primary and a fallback, scripted to have their bad days; the fallback steps in only when the primary's
failure is its own."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from clinic_shared.testing.processes import free_port
from notifications.adapters.sms import SmsAttempt, SmsProvider, SmsSender
from notifications.fake_sms import FakeProvider
from notifications.settings import NotificationsSettings

pytestmark = pytest.mark.integration

NUMBER = "+31612345678"
TEXT = "Reminder: your treatment at Canal District Skin Clinic is tomorrow at 10:00."


@pytest.fixture
async def sender(primary: FakeProvider, fallback: FakeProvider) -> AsyncIterator[SmsSender]:
    sender = SmsSender([primary.provider(), fallback.provider()], timeout_s=5)
    yield sender
    await sender.aclose()


def outcome(attempts: list[SmsAttempt]) -> list[tuple[str, str, str | None]]:
    return [(attempt.provider, attempt.status, attempt.error) for attempt in attempts]


async def test_a_text_goes_through_the_primary_provider(
    sender: SmsSender, primary: FakeProvider, fallback: FakeProvider
) -> None:
    reference = uuid.uuid4()

    attempts = await sender.send(to="+31 6 1234 5678", body=TEXT, reference=reference)

    assert attempts == [SmsAttempt("sms:primary", "sent", "fake-1", None)]
    [received] = await primary.received()
    assert (received["id"], received["to"], received["body"]) == ("fake-1", NUMBER, TEXT)
    assert received["reference"] == str(reference)
    assert await fallback.received() == []


async def test_a_throttling_primary_hands_the_text_to_the_fallback(
    sender: SmsSender, primary: FakeProvider, fallback: FakeProvider
) -> None:
    await primary.script("429")

    attempts = await sender.send(to=NUMBER, body=TEXT, reference=uuid.uuid4())

    assert outcome(attempts) == [("sms:primary", "failed_temporary", "http 429"), ("sms:fallback", "sent", None)]
    assert attempts[-1].provider_message_id == "fake-1"
    assert [m["to"] for m in await fallback.received()] == [NUMBER]
    assert await primary.received() == []


async def test_both_providers_failing_leaves_a_temporary_failure_to_try_again(
    sender: SmsSender, primary: FakeProvider, fallback: FakeProvider
) -> None:
    await primary.script("500")
    await fallback.script("500")

    attempts = await sender.send(to=NUMBER, body=TEXT, reference=uuid.uuid4())

    assert outcome(attempts) == [
        ("sms:primary", "failed_temporary", "http 500"),
        ("sms:fallback", "failed_temporary", "http 500"),
    ]
    assert await primary.received() == await fallback.received() == []


async def test_a_primary_that_does_not_answer_in_time_hands_the_text_to_the_fallback(
    primary: FakeProvider, fallback: FakeProvider
) -> None:
    await primary.script("timeout")
    sender = SmsSender([primary.provider(), fallback.provider()], timeout_s=0.5)
    try:
        started = time.monotonic()
        attempts = await sender.send(to=NUMBER, body=TEXT, reference=uuid.uuid4())
        waited_s = time.monotonic() - started
    finally:
        await sender.aclose()

    assert outcome(attempts) == [("sms:primary", "failed_temporary", "timeout"), ("sms:fallback", "sent", None)]
    assert waited_s < 5
    assert len(await fallback.received()) == 1


async def test_an_unreachable_primary_hands_the_text_to_the_fallback(fallback: FakeProvider) -> None:
    nobody = SmsProvider(name="primary", base_url=f"http://127.0.0.1:{free_port()}", api_key=SecretStr("k"))
    sender = SmsSender([nobody, fallback.provider()], timeout_s=5)
    try:
        attempts = await sender.send(to=NUMBER, body=TEXT, reference=uuid.uuid4())
    finally:
        await sender.aclose()

    assert outcome(attempts) == [("sms:primary", "failed_temporary", "ConnectError"), ("sms:fallback", "sent", None)]


async def test_an_invalid_number_is_a_permanent_failure_and_the_fallback_is_not_tried(
    sender: SmsSender, primary: FakeProvider, fallback: FakeProvider
) -> None:
    attempts = await sender.send(to="0612345678", body=TEXT, reference=uuid.uuid4())

    assert outcome(attempts) == [("sms:primary", "failed_permanent", "http 422")]
    assert await primary.received() == await fallback.received() == []


async def test_a_text_the_provider_refuses_is_not_offered_to_the_fallback(
    sender: SmsSender, primary: FakeProvider, fallback: FakeProvider
) -> None:
    await primary.script("invalid")

    attempts = await sender.send(to=NUMBER, body=TEXT, reference=uuid.uuid4())

    assert outcome(attempts) == [("sms:primary", "failed_permanent", "http 422")]
    assert await fallback.received() == []


async def test_a_refused_key_is_the_providers_problem_so_the_fallback_sends(
    primary: FakeProvider, fallback: FakeProvider
) -> None:
    sender = SmsSender([primary.provider(api_key="a-revoked-key"), fallback.provider()], timeout_s=5)
    try:
        attempts = await sender.send(to=NUMBER, body=TEXT, reference=uuid.uuid4())
    finally:
        await sender.aclose()

    assert outcome(attempts) == [("sms:primary", "failed_temporary", "http 401"), ("sms:fallback", "sent", None)]
    assert await primary.received() == []


async def test_the_same_message_sent_twice_reaches_the_provider_once(sender: SmsSender, primary: FakeProvider) -> None:
    reference, other_reference = uuid.uuid4(), uuid.uuid4()

    first = await sender.send(to=NUMBER, body=TEXT, reference=reference)
    again = await sender.send(to=NUMBER, body=TEXT, reference=reference)
    other = await sender.send(to=NUMBER, body=TEXT, reference=other_reference)

    assert first[0].provider_message_id == again[0].provider_message_id == "fake-1"
    assert other[0].provider_message_id == "fake-2"
    assert [m["reference"] for m in await primary.received()] == [str(reference), str(other_reference)]


async def test_failures_are_recorded_without_the_number_or_the_text(
    primary: FakeProvider, fallback: FakeProvider
) -> None:
    nobody = SmsProvider(name="nobody", base_url=f"http://127.0.0.1:{free_port()}", api_key=SecretStr("k"))
    sender = SmsSender([nobody, primary.provider(api_key="wrong"), fallback.provider()], timeout_s=0.5)
    try:
        attempts = []
        for fallback_mode in ("429", "500", "timeout", "invalid"):
            await fallback.script(fallback_mode)
            attempts += await sender.send(to=NUMBER, body=TEXT, reference=uuid.uuid4())
        attempts += await sender.send(to="06 12345678", body=TEXT, reference=uuid.uuid4())
    finally:
        await sender.aclose()

    errors = {attempt.error for attempt in attempts}
    assert errors == {"ConnectError", "http 401", "http 429", "http 500", "timeout", "http 422"}
    for attempt in attempts:
        assert "612345" not in repr(attempt)
        assert "Reminder" not in repr(attempt)


async def test_a_success_without_a_message_id_counts_as_temporary() -> None:
    # The fake provider always answers well-formed, so this answer comes from a transport at the port.
    def answered(request: httpx.Request) -> httpx.Response:
        if request.url.host == "primary.example":
            return httpx.Response(200, text="<html>accepted</html>")
        return httpx.Response(202, json={"id": "fallback-77"})

    providers = [
        SmsProvider(name="primary", base_url="http://primary.example", api_key=SecretStr("k")),
        SmsProvider(name="fallback", base_url="http://fallback.example/api/", api_key=SecretStr("k")),
    ]
    sender = SmsSender(providers, timeout_s=5, transport=httpx.MockTransport(answered))
    try:
        attempts = await sender.send(to=NUMBER, body=TEXT, reference=uuid.uuid4())
    finally:
        await sender.aclose()

    assert attempts == [
        SmsAttempt("sms:primary", "failed_temporary", None, "http 200 without id"),
        SmsAttempt("sms:fallback", "sent", "fallback-77", None),
    ]


async def test_the_settings_name_the_primary_and_the_fallback(primary: FakeProvider, fallback: FakeProvider) -> None:
    settings = NotificationsSettings(
        environment="development", sms_primary_url=primary.url, sms_primary_key="primary-key",
        sms_fallback_url=fallback.url, sms_fallback_key="fallback-key",
    )  # fmt: skip
    await primary.script("500")
    sender = SmsSender.from_settings(settings)
    try:
        attempts = await sender.send(to=NUMBER, body=TEXT, reference=uuid.uuid4())
    finally:
        await sender.aclose()

    assert outcome(attempts) == [("sms:primary", "failed_temporary", "http 500"), ("sms:fallback", "sent", None)]


def test_a_fallback_provider_without_its_own_key_is_refused() -> None:
    settings = NotificationsSettings(
        environment="development", sms_fallback_url="http://127.0.0.1:8191", sms_fallback_key=None
    )

    with pytest.raises(ValueError, match="sms_fallback_key is required"):
        SmsSender.from_settings(settings)
