"""Demo data for the run command: two clinics in different time zones, each ready to book, with
rooms, devices, a microneedling treatment and credentialed practitioners."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from booking.adapters.tables import clinics
from booking.adapters.uow import BookingUnitOfWork
from booking.domain import Address, OpeningHours, OpeningInterval, Weekday
from booking.domain.resources import ResourceKind
from booking.domain.staff import Profession
from booking.service import clinics as clinic_cases
from booking.service import setup
from clinic_shared.runtime import SessionFactory

WORKDAYS: tuple[Weekday, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday")


def _days(opens: time, closes: time, *days: Weekday) -> dict[Weekday, list[OpeningInterval]]:
    return {day: [OpeningInterval(opens=opens, closes=closes)] for day in days}


DEMO_CLINICS: tuple[dict[str, Any], ...] = (
    {
        "name": "Canal District Skin Clinic",
        "address": Address(line1="Herengracht 120", city="Amsterdam", postal_code="1015 BS", country="NL"),
        "timezone": "Europe/Amsterdam",
        "phone": "+31 20 555 0120",
        "opening_hours": OpeningHours.of(
            {
                **_days(time(9), time(18), "monday", "tuesday", "wednesday", "friday"),
                "thursday": [OpeningInterval(opens=time(9), closes=time(13)), OpeningInterval(time(14), time(21))],
                "saturday": [OpeningInterval(opens=time(10), closes=time(16))],
            }
        ),
    },
    {
        "name": "Riverside Aesthetics",
        "address": Address(line1="14 Bankside", city="London", postal_code="SE1 9TG", country="GB"),
        "timezone": "Europe/London",
        "phone": "+44 20 7946 0018",
        "opening_hours": OpeningHours.of(_days(time(8, 30), time(17, 30), *WORKDAYS)),
    },
)

DEMO_PRACTITIONERS: tuple[tuple[str, Profession], ...] = (
    ("Dr. Noor Visser", "dermatologist"),
    ("Jamie Okafor", "trained_professional"),
)


async def seed_demo(session_factory: SessionFactory) -> None:
    """Create the demo clinics that do not exist yet, each ready to book; running it twice adds nothing."""
    for demo in DEMO_CLINICS:
        async with session_factory() as session:
            exists = await session.scalar(
                select(func.count()).where(func.lower(clinics.c.name) == str(demo["name"]).lower())
            )
        if not exists:
            await _open_demo_clinic(lambda: BookingUnitOfWork(session_factory, producer="booking"), demo)


async def _open_demo_clinic(uow: Any, demo: dict[str, Any]) -> None:
    clinic = await clinic_cases.register_clinic(uow(), **demo)
    resources: tuple[tuple[ResourceKind, str], ...] = (
        ("room", "Room 1"), ("room", "Room 2"), ("device", "Pen A"), ("device", "Pen B"),
    )  # fmt: skip
    for kind, name in resources:
        await setup.add_resource(uow(), clinic_id=clinic.id, kind=kind, name=name)
    await setup.offer_treatment(
        uow(),
        clinic_id=clinic.id,
        name="Microneedling",
        numbing_minutes=30,
        procedure_minutes={"face": 30, "neck": 15, "decolletage": 20, "hands": 15},
        turnover_minutes=15,
    )
    today = datetime.now(UTC).date()
    for name, profession in DEMO_PRACTITIONERS:
        practitioner = await setup.register_practitioner(uow(), name=name, profession=profession)
        await setup.add_credential(
            uow(),
            practitioner_id=practitioner.id,
            number=f"MN-{practitioner.id.hex[:6].upper()}",
            issuer="Demo Board of Aesthetic Practice",
            valid_from=today - timedelta(days=365),
            valid_to=today + timedelta(days=730),
            covers=frozenset({"microneedling"}),
        )
        await setup.set_working_hours(
            uow(), practitioner_id=practitioner.id, clinic_id=clinic.id, hours=clinic.opening_hours
        )
