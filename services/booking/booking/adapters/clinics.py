"""Clinics: the repository and how opening hours and the booking policy are stored."""

from __future__ import annotations

from dataclasses import asdict
from datetime import time
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.adapters.tables import clinics
from booking.domain import (
    WEEKDAYS,
    Address,
    BookingPolicy,
    Clinic,
    ClinicChangedConcurrently,
    ClinicNameTaken,
    ClinicNotFound,
    OpeningHours,
    OpeningInterval,
)
from clinic_shared.db import violated_constraint


def hours_to_json(hours: OpeningHours) -> dict[str, list[dict[str, str]]]:
    return {
        day: [{"opens": i.opens.isoformat("minutes"), "closes": i.closes.isoformat("minutes")} for i in intervals]
        for day, intervals in hours.days.items()
    }


def hours_from_json(raw: dict[str, list[dict[str, str]]]) -> OpeningHours:
    return OpeningHours(
        days={
            day: tuple(
                OpeningInterval(opens=time.fromisoformat(i["opens"]), closes=time.fromisoformat(i["closes"]))
                for i in raw[day]
            )
            for day in WEEKDAYS
            if raw.get(day)
        }
    )


def _row_values(clinic: Clinic) -> dict[str, Any]:
    return {
        "name": clinic.name,
        "address": {
            "line1": clinic.address.line1,
            "line2": clinic.address.line2,
            "city": clinic.address.city,
            "postal_code": clinic.address.postal_code,
            "country": clinic.address.country,
        },
        "timezone": clinic.timezone,
        "phone": clinic.phone,
        "opening_hours": hours_to_json(clinic.opening_hours),
        "booking_policy": asdict(clinic.policy),
        "revision": clinic.revision,
    }


def _policy(raw: dict[str, Any]) -> BookingPolicy:
    depths = raw.get("needle_depth_mm")
    if depths is None:
        return BookingPolicy(**raw)
    return BookingPolicy(**{**raw, "needle_depth_mm": {area: (low, high) for area, (low, high) in depths.items()}})


def clinic_of(row: Any) -> Clinic:
    return Clinic(
        id=row.id,
        name=row.name,
        address=Address(**row.address),
        timezone=row.timezone,
        phone=row.phone,
        opening_hours=hours_from_json(row.opening_hours),
        policy=_policy(row.booking_policy),
        revision=row.revision,
    )


class ClinicRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, clinic_id: UUID) -> Clinic:
        row = (await self._session.execute(select(clinics).where(clinics.c.id == clinic_id))).first()
        if row is None:
            raise ClinicNotFound("no such clinic", field="clinic_id")
        return clinic_of(row)

    async def list(self, *, offset: int, limit: int) -> list[Clinic]:
        query = select(clinics).order_by(clinics.c.name, clinics.c.id).offset(offset).limit(limit)
        return [clinic_of(row) for row in await self._session.execute(query)]

    async def add(self, clinic: Clinic) -> None:
        try:
            async with self._session.begin_nested():
                await self._session.execute(clinics.insert().values(id=clinic.id, **_row_values(clinic)))
        except IntegrityError as error:
            raise _translated(error) from error

    async def save(self, clinic: Clinic) -> None:
        """Store a changed clinic unless someone else changed it since it was read."""
        try:
            async with self._session.begin_nested():
                result = await self._session.execute(
                    update(clinics)
                    .where(clinics.c.id == clinic.id, clinics.c.revision == clinic.revision - 1)
                    .values(**_row_values(clinic), updated_at=func.now())
                )
        except IntegrityError as error:
            raise _translated(error) from error
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ClinicChangedConcurrently("the clinic was changed by someone else; reload and retry")


def _translated(error: IntegrityError) -> Exception:
    if violated_constraint(error) == "uq_clinics_lower_name":
        return ClinicNameTaken("a clinic with this name already exists", field="name")
    return error
