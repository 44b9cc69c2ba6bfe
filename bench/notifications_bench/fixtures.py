"""Booking's events as notifications receives them, and the way the integration tests hand them to its
handlers (the `deliver` fixture): each in its own transaction with a HandlerContext and an Outbox,
the handler looked up in `PATIENTS_AND_VISITS.handlers`, `apply_clinic_changed` for a clinic."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from clinic_shared.events import Envelope, Event, catalogue
from clinic_shared.messaging import HandlerContext
from clinic_shared.outbox import Outbox
from clinic_shared.projections.clinics import apply_clinic_changed
from clinic_shared.runtime import SessionFactory
from notifications.consumers import PATIENTS_AND_VISITS

ZONE = "Europe/Amsterdam"
SET_UP_TASKS = 8


def clinic_changed(clinic_id: UUID) -> catalogue.ClinicChanged:
    return catalogue.ClinicChanged(
        clinic_id=clinic_id,
        revision=1,
        name="Bench Canal District Skin Clinic",
        address=catalogue.Address(line1="Herengracht 120", city="Amsterdam", postal_code="1015 BS", country="NL"),
        timezone=ZONE,
        phone="+31 20 555 0120",
    )


def contact_changed(patient_id: UUID) -> catalogue.PatientContactChanged:
    """A patient who wants care messages by e-mail (the booking grid's patient, one per visit)."""
    return catalogue.PatientContactChanged(
        patient_id=patient_id,
        revision=1,
        display_name="Bench Patient",
        email=f"patient-{patient_id.hex[:12]}@example.org",
        preferred_channel="email",
        care_messages_consent=True,
        marketing_consent=False,
    )


def confirmed(clinic_id: UUID, patient_id: UUID, k: int) -> catalogue.AppointmentConfirmed:
    starts_at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=7, minutes=15 * k)
    return catalogue.AppointmentConfirmed(
        appointment_id=uuid.uuid4(),
        clinic_id=clinic_id,
        patient_id=patient_id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=75),
        areas=["face", "neck"],
        practitioner_id=uuid.uuid4(),
    )


def envelope(event: Event) -> dict[str, Any]:
    """The JSON envelope booking's relay publishes."""
    return Envelope.wrap(event, producer="booking").to_json_dict()


async def deliver(factory: SessionFactory, event: Event) -> None:
    handler: Any = PATIENTS_AND_VISITS.handlers.get(type(event)) or apply_clinic_changed
    async with factory() as session, session.begin():
        outbox = Outbox(producer="notifications")
        context = HandlerContext(session=session, outbox=outbox, envelope=Envelope.wrap(event, producer="booking"))
        await handler(event, context)
        await outbox.flush(session)


async def learn_clinic(factory: SessionFactory, clinic_id: UUID) -> None:
    await deliver(factory, clinic_changed(clinic_id))


async def queue_confirmations(factory: SessionFactory, clinic_id: UUID, count: int) -> None:
    """`count` patients and their confirmed visits, through the handlers, each confirmation queueing
    one e-mail; `SET_UP_TASKS` at a time (this is set-up, not measured)."""
    patients = [uuid.uuid4() for _ in range(count)]

    async def one_task(mine: Sequence[UUID], offset: int) -> None:
        for n, patient_id in enumerate(mine):
            await deliver(factory, contact_changed(patient_id))
            await deliver(factory, confirmed(clinic_id, patient_id, offset + n))

    share = -(-count // SET_UP_TASKS)
    await asyncio.gather(*(one_task(patients[i : i + share], i) for i in range(0, count, share)))
