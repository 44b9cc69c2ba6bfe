"""Clinic use cases: open, change, read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from booking.adapters.uow import BookingUnitOfWork
from booking.domain import Address, BookingPolicy, Clinic, OpeningHours
from booking.domain.clinics import policy_changed
from clinic_shared.events import catalogue


def clinic_changed(clinic: Clinic) -> catalogue.ClinicChanged:
    return catalogue.ClinicChanged(
        clinic_id=clinic.id,
        revision=clinic.revision,
        name=clinic.name,
        address=catalogue.Address(
            line1=clinic.address.line1,
            line2=clinic.address.line2,
            city=clinic.address.city,
            postal_code=clinic.address.postal_code,
            country=clinic.address.country,
        ),
        timezone=clinic.timezone,
        phone=clinic.phone,
    )


async def register_clinic(
    uow: BookingUnitOfWork,
    *,
    name: str,
    address: Address,
    timezone: str,
    phone: str,
    opening_hours: OpeningHours,
    policy: BookingPolicy | None = None,
) -> Clinic:
    clinic = Clinic.register(
        name=name, address=address, timezone=timezone, phone=phone, opening_hours=opening_hours, policy=policy
    )
    async with uow:
        await uow.clinics.add(clinic)
        uow.outbox.add(clinic_changed(clinic))
        await uow.commit()
    return clinic


async def change_clinic(
    uow: BookingUnitOfWork,
    *,
    clinic_id: UUID,
    name: str | None = None,
    address: Address | None = None,
    timezone: str | None = None,
    phone: str | None = None,
    opening_hours: OpeningHours | None = None,
    policy_changes: Mapping[str, Any] | None = None,
) -> Clinic:
    async with uow:
        current = await uow.clinics.get(clinic_id)
        clinic = current.changed(
            name=name,
            address=address,
            timezone=timezone,
            phone=phone,
            opening_hours=opening_hours,
            policy=policy_changed(current.policy, policy_changes) if policy_changes else None,
        )
        await uow.clinics.save(clinic)
        uow.outbox.add(clinic_changed(clinic))
        await uow.commit()
    return clinic


async def find_clinic(uow: BookingUnitOfWork, *, clinic_id: UUID) -> Clinic:
    async with uow:
        return await uow.clinics.get(clinic_id)


async def list_clinics(uow: BookingUnitOfWork, *, offset: int, limit: int) -> list[Clinic]:
    async with uow:
        return await uow.clinics.list(offset=offset, limit=limit)
