"""Notifications' integration fixtures: a real SMTP server (aiosmtpd) on 127.0.0.1, the service's
database, booking's events handed to the consumer's handlers in their own transactions, and the
sender job."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from clinic_shared.db import create_session_factory
from clinic_shared.events import Event, catalogue
from clinic_shared.projections.clinics import apply_clinic_changed
from clinic_shared.testing.messaging import handle_directly
from clinic_shared.testing.plugin import TestEnvironment
from clinic_shared.testing.processes import free_port, serving_in_thread
from notifications.consumers import PATIENTS_AND_VISITS, SUPPLY_ALERTS
from notifications.fake_sms import FakeProvider
from notifications.fake_sms import create_app as create_fake_sms
from notifications.main import SERVICE, create_app
from notifications.service import sending
from notifications.settings import NotificationsSettings

REFUSED = "refused@example.org"


@dataclass
class Inbox:
    """What the SMTP server accepted; it refuses `REFUSED` with a permanent 550."""

    received: list[EmailMessage] = field(default_factory=list)
    controller: Controller | None = None
    port: int = 0
    bad_goodbye: bool = False  # answer QUIT with a 4xx, after having taken the message

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.received.append(email.message_from_bytes(content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "451 4.3.0 trouble saying goodbye" if self.bad_goodbye else "221 Bye"

    def stop(self) -> None:
        """The mail server goes down."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def start(self, port: int) -> None:
        """The mail server comes (back) up on `port` (aiosmtpd's controller cannot restart itself)."""
        self.port = port
        self.controller = Controller(self, hostname="127.0.0.1", port=port)
        self.controller.start()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received if m["To"] == address]


@pytest.fixture(scope="session")
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def inbox(smtp_port: int) -> Iterator[Inbox]:
    handler = Inbox()
    handler.start(smtp_port)
    try:
        yield handler
    finally:
        handler.stop()


@pytest.fixture(scope="session")
def primary() -> Iterator[FakeProvider]:
    with serving_in_thread(create_fake_sms(api_key="primary-key")) as url:
        yield FakeProvider("primary", url, "primary-key")


@pytest.fixture(scope="session")
def fallback() -> Iterator[FakeProvider]:
    with serving_in_thread(create_fake_sms(api_key="fallback-key")) as url:
        yield FakeProvider("fallback", url, "fallback-key")


@pytest.fixture(autouse=True)
async def _fresh_providers(primary: FakeProvider, fallback: FakeProvider) -> None:
    await primary.reset()
    await fallback.reset()


@pytest.fixture(scope="session")
def settings(
    test_env: TestEnvironment,
    service_databases: dict[str, str],
    smtp_port: int,
    primary: FakeProvider,
    fallback: FakeProvider,
) -> NotificationsSettings:
    configured = test_env.settings(
        SERVICE, smtp_port=smtp_port, retry_base_s=60, max_attempts=3, sms_primary_url=primary.url,
        sms_primary_key=primary.api_key, sms_fallback_url=fallback.url, sms_fallback_key=fallback.api_key,
        sms_timeout_s=1,
    )  # fmt: skip
    assert isinstance(configured, NotificationsSettings)
    return configured


@pytest.fixture(scope="session")
async def engine(test_env: TestEnvironment, service_databases: dict[str, str]) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(test_env.database_url("notifications"))
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def notifications(settings: NotificationsSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notifications.test") as c:
        yield c
    await app.state.engine.dispose()


Deliver = Callable[..., Awaitable[None]]


HANDLERS: dict[type[Event], Any] = {
    catalogue.ClinicChanged: apply_clinic_changed, **PATIENTS_AND_VISITS.handlers, **SUPPLY_ALERTS.handlers,
}  # fmt: skip


@pytest.fixture
def deliver(engine: AsyncEngine) -> Deliver:
    """Hands an event to notifications' handler for it, in its own transaction, as the consumer would;
    `at` is when the event happened (the default: now)."""
    factory = create_session_factory(engine)

    async def delivered(event: Event, *, at: datetime | None = None) -> None:
        await handle_directly(
            factory, HANDLERS[type(event)], event, producer="booking", consumer="notifications", occurred_at=at
        )

    return delivered


Send = Callable[..., Awaitable[None]]


@pytest.fixture
def send(engine: AsyncEngine, settings: NotificationsSettings) -> Send:
    """Runs the sender until nothing is due; `now` sets its clock (the default: the real one)."""

    async def sent(now: datetime | None = None) -> None:
        clock = (lambda: now) if now is not None else sending.utc_now
        await sending.send_due(create_session_factory(engine), settings, now=clock)

    return sent


@dataclass
class Visit:
    clinic_id: uuid.UUID
    patient_id: uuid.UUID
    appointment_id: uuid.UUID
    starts_at: datetime
    email: str
    phone: str | None = None

    def requested(self) -> catalogue.AppointmentRequested:
        return catalogue.AppointmentRequested(
            appointment_id=self.appointment_id, clinic_id=self.clinic_id, patient_id=self.patient_id,
            treatment_id=uuid.uuid4(), practitioner_id=uuid.uuid4(), room_id=uuid.uuid4(), device_id=uuid.uuid4(),
            areas=["face", "neck"], starts_at=self.starts_at, ends_at=self.starts_at + timedelta(minutes=75),
        )  # fmt: skip

    def completed(
        self, at: datetime | None = None, next_session: catalogue.NextSession | None = None
    ) -> catalogue.AppointmentCompleted:
        """The visit took place (at its start time unless told), with the next session of its course
        still to book when given."""
        return catalogue.AppointmentCompleted(
            appointment_id=self.appointment_id, clinic_id=self.clinic_id, patient_id=self.patient_id,
            completed_at=at or self.starts_at, areas=["face", "neck"], lots_used=[], next_session=next_session,
        )  # fmt: skip

    def confirmed(self) -> catalogue.AppointmentConfirmed:
        return catalogue.AppointmentConfirmed(
            appointment_id=self.appointment_id, clinic_id=self.clinic_id, patient_id=self.patient_id,
            starts_at=self.starts_at, ends_at=self.starts_at + timedelta(minutes=75), areas=["face", "neck"],
            practitioner_id=uuid.uuid4(),
        )  # fmt: skip


@pytest.fixture
def new_visit(deliver: Deliver) -> Callable[..., Awaitable[Visit]]:
    """A clinic and a patient notifications knows (new ones, unless given), and a visit not yet
    confirmed, on Tuesday 2 March 2027 at 10:00 in Amsterdam unless told otherwise."""

    async def made(
        *, care_consent: bool = True, marketing_consent: bool = False, address: str | None = None,
        phone: str | None = None, preferred_channel: str = "email", starts_at: datetime | None = None,
        clinic_id: uuid.UUID | None = None, patient_id: uuid.UUID | None = None,
    ) -> Visit:  # fmt: skip
        if clinic_id is None:
            clinic_id = uuid.uuid4()
            await deliver(
                catalogue.ClinicChanged(
                    clinic_id=clinic_id, revision=1, name="Canal District Skin Clinic",
                    address=catalogue.Address(line1="Herengracht 120", city="Amsterdam", postal_code="1015 BS",
                                              country="NL"),
                    timezone="Europe/Amsterdam", phone="+31 20 555 0120",
                )
            )  # fmt: skip
        recipient = address or f"patient-{(patient_id or uuid.uuid4()).hex[:8]}@example.org"
        if patient_id is None:
            patient_id = uuid.uuid4()
            recipient = address if address is not None else f"patient-{patient_id.hex[:8]}@example.org"
            await deliver(
                catalogue.PatientContactChanged(
                    patient_id=patient_id, revision=1, display_name="Sam Patient", email=recipient or None,
                    phone=phone, preferred_channel=preferred_channel, care_messages_consent=care_consent,
                    marketing_consent=marketing_consent,
                )
            )  # fmt: skip
        starts_at = starts_at or datetime(2027, 3, 2, 9, 0, tzinfo=UTC)
        return Visit(clinic_id, patient_id, uuid.uuid4(), starts_at, recipient, phone)

    return made


def attachments(message: EmailMessage) -> dict[str, Any]:
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()}
