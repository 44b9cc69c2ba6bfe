"""Booking's tables, repositories and unit of work."""

from __future__ import annotations

from datetime import time
from typing import Any
from uuid import UUID

from sqlalchemy import CheckConstraint, Column, DateTime, Index, Integer, Table, Text, Uuid, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.domain import (
    WEEKDAYS,
    Address,
    Clinic,
    ClinicChangedConcurrently,
    ClinicNameTaken,
    ClinicNotFound,
    OpeningHours,
    OpeningInterval,
)
from clinic_shared.db import new_metadata, violated_constraint
from clinic_shared.uow import SqlUnitOfWork

metadata = new_metadata()

clinics = Table(
    "clinics",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("address", JSONB, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("opening_hours", JSONB, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("revision >= 1", name="revision_positive"),
    CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
)
Index("uq_clinics_lower_name", func.lower(clinics.c.name), unique=True)


def _hours_to_json(hours: OpeningHours) -> dict[str, list[dict[str, str]]]:
    return {
        day: [{"opens": i.opens.isoformat("minutes"), "closes": i.closes.isoformat("minutes")} for i in intervals]
        for day, intervals in hours.days.items()
    }


def _hours_from_json(raw: dict[str, list[dict[str, str]]]) -> OpeningHours:
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
        "opening_hours": _hours_to_json(clinic.opening_hours),
        "revision": clinic.revision,
    }


def _clinic(row: Any) -> Clinic:
    return Clinic(
        id=row.id,
        name=row.name,
        address=Address(**row.address),
        timezone=row.timezone,
        phone=row.phone,
        opening_hours=_hours_from_json(row.opening_hours),
        revision=row.revision,
    )


class ClinicRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, clinic_id: UUID) -> Clinic:
        row = (await self._session.execute(select(clinics).where(clinics.c.id == clinic_id))).first()
        if row is None:
            raise ClinicNotFound("no such clinic", field="clinic_id")
        return _clinic(row)

    async def list(self, *, offset: int, limit: int) -> list[Clinic]:
        query = select(clinics).order_by(clinics.c.name, clinics.c.id).offset(offset).limit(limit)
        return [_clinic(row) for row in await self._session.execute(query)]

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


class BookingUnitOfWork(SqlUnitOfWork):
    clinics: ClinicRepository

    def open_repositories(self, session: AsyncSession) -> None:
        self.clinics = ClinicRepository(session)
