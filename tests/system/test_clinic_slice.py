"""The clinic slice end to end with every process running as it does in production: three APIs and
three workers, started from their console scripts, against fresh databases and a run-private topology."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from clinic_shared.auth import Role
from clinic_shared.runtime import discover_services
from clinic_shared.testing.messaging import eventually
from clinic_shared.testing.plugin import TestEnvironment
from clinic_shared.testing.processes import ServiceProcess, free_port, serving_in_thread, start, stop, wait_until_ready
from notifications.fake_sms import FakeProvider
from notifications.fake_sms import create_app as create_fake_sms
from tests.journeys import (
    ZONE,
    book,
    bookable_clinic_with_supplies,
    receive,
    status_becomes,
    stock,
    weekday,
)

pytestmark = pytest.mark.system


class MailSink:
    """A real SMTP server in the test process: notifications' worker sends to it."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture(scope="module")
def mail() -> Iterator[tuple[MailSink, int]]:
    sink, port = MailSink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def texts() -> Iterator[FakeProvider]:
    """The local fake SMS provider (the one edge we fake: we do not own an SMS network)."""
    with serving_in_thread(create_fake_sms(api_key="system-key")) as url:
        yield FakeProvider("primary", url, "system-key")


@pytest.fixture(scope="module")
async def quiet_outboxes(test_env: TestEnvironment, service_databases: dict[str, str]) -> None:
    await test_env.discard_unpublished_events()


@pytest.fixture(scope="module")
def processes(
    test_env: TestEnvironment,
    quiet_outboxes: None,
    tmp_path_factory: pytest.TempPathFactory,
    mail: tuple[MailSink, int],
    texts: FakeProvider,
) -> Iterator[dict[str, ServiceProcess]]:
    logs = tmp_path_factory.mktemp("system-logs")
    started: dict[str, ServiceProcess] = {}
    try:
        for name, definition in discover_services().items():
            api_port, worker_port = free_port(), free_port()
            overrides: dict[str, Any] = (
                # A passing failure on a busy machine (a 5 s provider timeout) is tried again within
                # seconds, not after the production 30 s: these tests follow the path, not the back-off.
                {
                    "smtp_port": mail[1],
                    "sms_primary_url": texts.url,
                    "sms_primary_key": texts.api_key,
                    "retry_base_s": 1,
                }
                if name == "notifications"
                else {}
            )
            env = {
                **os.environ,
                **test_env.environ(
                    definition, http_port=api_port, worker_http_port=worker_port, log_level="INFO", **overrides
                ),
            }
            started[f"{name}-api"] = start(f"{name}-api", port=api_port, env=env, logs=logs)
            if definition.has_worker:
                started[f"{name}-worker"] = start(f"{name}-worker", port=worker_port, env=env, logs=logs)
        yield started
    finally:
        stop(started.values())


@pytest.fixture(scope="module")
async def ready(processes: dict[str, ServiceProcess]) -> dict[str, ServiceProcess]:
    await wait_until_ready(processes.values())
    return processes


async def test_a_clinic_created_on_booking_is_visible_in_inventory_and_notifications_within_a_second(
    ready: dict[str, ServiceProcess], test_env: TestEnvironment
) -> None:
    admin = test_env.auth_header(Role.ADMIN)
    body: dict[str, Any] = {
        "name": f"System Clinic {uuid.uuid4().hex[:6]}",
        "address": {"line1": "Herengracht 120", "city": "Amsterdam", "postal_code": "1015 BS", "country": "NL"},
        "timezone": "Europe/Amsterdam",
        "phone": "+31 20 555 0120",
        "opening_hours": {"monday": [{"opens": "09:00", "closes": "18:00"}]},
    }
    async with httpx.AsyncClient(timeout=5) as client:
        created = await client.post(f"{ready['booking-api'].url}/clinics", json=body, headers=admin)
        assert created.status_code == 201, created.text
        clinic_id = created.json()["id"]
        committed_at = time.monotonic()

        async def visible(service: str) -> float:
            while True:
                response = await client.get(f"{ready[f'{service}-api'].url}/clinics/{clinic_id}", headers=admin)
                if response.status_code == 200:
                    assert response.json()["name"] == body["name"]
                    return time.monotonic() - committed_at
                await asyncio.sleep(0.01)

        delays = await asyncio.wait_for(asyncio.gather(visible("inventory"), visible("notifications")), timeout=10)

    assert max(delays) < 1.0, f"visible after {delays[0]:.3f}s (inventory) and {delays[1]:.3f}s (notifications)"


async def test_a_booking_is_confirmed_by_the_inventory_worker_and_released_on_cancel(
    ready: dict[str, ServiceProcess], test_env: TestEnvironment
) -> None:
    """The saga with every process running: booking's API and relay, inventory's consumer and relay,
    booking's consumer."""
    async with (
        httpx.AsyncClient(base_url=ready["booking-api"].url, timeout=5) as booking,
        httpx.AsyncClient(base_url=ready["inventory-api"].url, timeout=5) as inventory,
    ):
        clinic = await bookable_clinic_with_supplies(booking, inventory, test_env)
        await receive(inventory, clinic, "cartridge", "CT-SYS", 2)
        await receive(inventory, clinic, "cream", "LC-SYS", 30)

        booked = await book(booking, clinic, 10)
        await status_becomes(booking, booked, "confirmed")
        assert (await stock(inventory, clinic))["CT-SYS"]["reserved"] == "1.000"

        link = {"Authorization": f"Bearer {booked['manage_token']}"}
        cancelled = await booking.post(f"/appointments/{booked['appointment']['id']}/cancel", json={}, headers=link)
        assert cancelled.status_code == 200, cancelled.text

        async def released() -> bool:
            return (await stock(inventory, clinic))["CT-SYS"]["reserved"] == "0.000"

        await eventually(released, timeout_s=10, what="inventory to release the cancelled visit's kit")


async def test_a_booking_ends_in_the_patients_inbox_with_its_calendar_file_and_manage_link(
    ready: dict[str, ServiceProcess], test_env: TestEnvironment, mail: tuple[MailSink, int]
) -> None:
    """POST /appointments to the e-mail received, through every process: booking, inventory's
    reservation, booking's confirmation, notifications' consumer and sender, a real SMTP server."""
    sink, _ = mail
    async with (
        httpx.AsyncClient(base_url=ready["booking-api"].url, timeout=5) as booking,
        httpx.AsyncClient(base_url=ready["inventory-api"].url, timeout=5) as inventory,
    ):
        clinic = await bookable_clinic_with_supplies(booking, inventory, test_env)
        await receive(inventory, clinic, "cartridge", "CT-MAIL", 2)
        await receive(inventory, clinic, "cream", "LC-MAIL", 30)
        booked = await book(booking, clinic, 11)

        appointment_id = booked["appointment"]["id"]

        def about_this_visit() -> list[EmailMessage]:
            return [
                m
                for m in sink.received
                if f"/manage/{appointment_id}?" in m.get_body(preferencelist=("plain",)).get_content()
            ]

        async def delivered() -> bool:
            return bool(about_this_visit())

        await eventually(delivered, timeout_s=20, what="the confirmation e-mail")
        [message] = about_this_visit()
        assert message["To"] == "sam@example.org"
        assert "confirmed" in message["Subject"]
        body = message.get_body(preferencelist=("plain",)).get_content()
        token = body.split("token=")[1].split()[0]
        read = await booking.get(
            f"/appointments/{booked['appointment']['id']}", headers={"Authorization": f"Bearer {token}"}
        )
        assert read.status_code == 200, "the link in the e-mail opens the visit in booking"
        assert [p.get_filename() for p in message.iter_attachments()] == ["visit.ics"]


async def test_a_patient_who_prefers_texts_is_confirmed_and_told_of_the_cancellation_by_sms(
    ready: dict[str, ServiceProcess], test_env: TestEnvironment, texts: FakeProvider
) -> None:
    """Booking to text message and back: the confirmation by SMS through the provider, the patient
    cancels with the link, the cancellation notice follows; each outcome is published (to the audit
    queue), not left in notifications' outbox."""
    async with (
        httpx.AsyncClient(base_url=ready["booking-api"].url, timeout=5) as booking,
        httpx.AsyncClient(base_url=ready["inventory-api"].url, timeout=5) as inventory,
    ):
        clinic = await bookable_clinic_with_supplies(booking, inventory, test_env)
        await receive(inventory, clinic, "cartridge", "CT-SMS", 2)
        await receive(inventory, clinic, "cream", "LC-SMS", 30)
        number = f"+3161{uuid.uuid4().int % 10**7:07d}"
        day = weekday(7)
        booked = (
            await booking.post(
                "/appointments",
                json={
                    "clinic_id": clinic["id"], "treatment_id": clinic["treatment_id"], "areas": ["face"],
                    "starts_at": datetime(day.year, day.month, day.day, 14, tzinfo=ZONE).isoformat(),
                    "patient": {"display_name": "Robin Text", "phone": number, "preferred_channel": "sms",
                                "care_messages_consent": True},
                    "consent": {"accepted": True, "text_version": "2026-11"},
                },
            )
        ).json()  # fmt: skip
        await status_becomes(booking, booked, "confirmed")

        async def texted(count: int) -> bool:
            return len([m for m in await texts.received() if m["to"] == number]) >= count

        await _delivered_or_explained(lambda: texted(1), test_env, booked, what="the confirmation by SMS")
        cancelled = await booking.post(
            f"/appointments/{booked['appointment']['id']}/cancel", json={},
            headers={"Authorization": f"Bearer {booked['manage_token']}"},
        )  # fmt: skip
        assert cancelled.status_code == 200, cancelled.text
        await _delivered_or_explained(lambda: texted(2), test_env, booked, what="the cancellation by SMS")

        confirmation, notice = [m["body"] for m in await texts.received() if m["to"] == number]
        assert "confirmed" in confirmation
        assert f"/manage/{booked['appointment']['id']}?token=" in confirmation
        assert "cancel" in notice.lower()

    async def published() -> bool:
        rows = await _notifications_outbox(test_env, booked["appointment"]["id"])
        return len(rows) == 2 and all(row.published_at is not None for row in rows)

    await eventually(published, timeout_s=20, what="both outcomes published, none left unroutable")


async def _delivered_or_explained(
    check: Callable[[], Awaitable[bool]], test_env: TestEnvironment, booked: dict[str, Any], *, what: str
) -> None:
    """`eventually`, and when it times out, the visit's messages as notifications holds them (kind,
    channel, status, attempts, last error) in the failure: where the pipeline stopped, not only that it did."""
    try:
        await eventually(check, timeout_s=30, what=what)
    except AssertionError as timed_out:
        engine = create_async_engine(test_env.database_url("notifications"))
        try:
            async with engine.connect() as connection:
                rows = list(
                    await connection.execute(
                        text(
                            "SELECT kind, channel, status, attempts, last_error, due_at FROM messages"
                            " WHERE appointment_id = :id ORDER BY created_at"
                        ),
                        {"id": booked["appointment"]["id"]},
                    )
                )
        finally:
            await engine.dispose()
        raise AssertionError(f"{timed_out}; the visit's messages: {[tuple(row) for row in rows]}") from None


async def _notifications_outbox(test_env: TestEnvironment, appointment_id: str) -> list[Any]:
    engine = create_async_engine(test_env.database_url("notifications"))
    try:
        async with engine.connect() as connection:
            return list(
                await connection.execute(
                    text(
                        "SELECT published_at FROM outbox WHERE body->>'type' = 'notifications.message.delivered'"
                        " AND body->'payload'->>'appointment_id' = :id"
                    ),
                    {"id": appointment_id},
                )
            )
    finally:
        await engine.dispose()


async def test_every_process_stops_cleanly_on_sigterm(ready: dict[str, ServiceProcess]) -> None:
    for process in ready.values():
        process.popen.send_signal(signal.SIGTERM)
    for process in ready.values():
        # uvicorn finishes the shutdown, then re-raises the signal: exit 143 to Docker and Kubernetes.
        assert process.popen.wait(timeout=20) in (0, -signal.SIGTERM), f"{process.name} was not stopped by SIGTERM"
        log = process.log.read_text()
        assert "Application shutdown complete" in log, f"{process.name} did not finish shutting down:\n{log[-2000:]}"
        if process.name.endswith("worker"):
            assert "worker_stopped" in log
