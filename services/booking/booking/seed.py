"""Demo clinics for the run command: two clinics in different time zones, with realistic hours."""

from __future__ import annotations

from datetime import time

from sqlalchemy import func, select

from booking import service
from booking.adapters.db import BookingUnitOfWork, clinics
from booking.domain import Address, OpeningHours, OpeningInterval, Weekday
from clinic_shared.runtime import SessionFactory


def _weekdays(opens: time, closes: time, *days: Weekday) -> dict[Weekday, list[OpeningInterval]]:
    return {day: [OpeningInterval(opens=opens, closes=closes)] for day in days}


DEMO_CLINICS = (
    {
        "name": "Canal District Skin Clinic",
        "address": Address(line1="Herengracht 120", city="Amsterdam", postal_code="1015 BS", country="NL"),
        "timezone": "Europe/Amsterdam",
        "phone": "+31 20 555 0120",
        "opening_hours": OpeningHours.of(
            {
                **_weekdays(time(9), time(18), "monday", "tuesday", "wednesday", "friday"),
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
        "opening_hours": OpeningHours.of(
            _weekdays(time(8, 30), time(17, 30), "monday", "tuesday", "wednesday", "thursday", "friday")
        ),
    },
)


async def seed_demo(session_factory: SessionFactory) -> None:
    """Create the demo clinics that do not exist yet; running it twice changes nothing."""
    for demo in DEMO_CLINICS:
        async with session_factory() as session:
            exists = await session.scalar(
                select(func.count()).where(func.lower(clinics.c.name) == str(demo["name"]).lower())
            )
        if not exists:
            await service.register_clinic(BookingUnitOfWork(session_factory, producer="booking"), **demo)  # type: ignore[arg-type]
