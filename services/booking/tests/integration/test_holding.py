"""Holding a visit's time: the exclusion constraint that refuses it is named, and the transaction
goes on, so the booking use case can pick another room, device or practitioner in it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from booking.adapters.appointments import SlotTakenBy
from booking.adapters.tables import SLOT_CONSTRAINTS, SLOT_PERIODS, appointments, devices, rooms
from booking.adapters.uow import BookingUnitOfWork
from booking.availability import Allocation, Phases
from booking.domain.appointments import HOLDING, Appointment
from clinic_shared.db import create_session_factory
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

NewBookable = Callable[..., Awaitable[Any]]
# The bookable clinic's treatment for the face: 30 minutes numbing, 30 procedure, 15 turnover.
FACE = Phases(numbing=timedelta(minutes=30), procedure=timedelta(minutes=30), turnover=timedelta(minutes=15))


async def test_a_taken_room_is_named_and_another_room_is_held_in_the_same_transaction(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment
) -> None:
    place = await new_bookable(practitioners=2, rooms=2, devices=2)
    booked = await booking.post("/appointments", json=place.body(place.at(10)))
    assert booked.status_code == 201, booked.text
    engine = create_async_engine(test_env.database_url("booking"))
    try:
        async with engine.connect() as connection:
            held = (
                await connection.execute(
                    select(appointments).where(appointments.c.id == uuid.UUID(booked.json()["appointment"]["id"]))
                )
            ).one()
            [other_room] = await connection.scalars(
                select(rooms.c.id).where(rooms.c.clinic_id == held.clinic_id, rooms.c.id != held.room_id)
            )
            [other_device] = await connection.scalars(
                select(devices.c.id).where(devices.c.clinic_id == held.clinic_id, devices.c.id != held.device_id)
            )
        [other_practitioner] = {uuid.UUID(p) for p in place.practitioner_ids} - {held.practitioner_id}

        def visit(room_id: uuid.UUID) -> Appointment:
            return Appointment.request(
                clinic_id=held.clinic_id,
                patient_id=held.patient_id,
                treatment_id=held.treatment_id,
                areas=("face",),
                allocation=Allocation(practitioner_id=other_practitioner, room_id=room_id, device_id=other_device),
                starts_at=held.starts_at,
                phases=FACE,
                now=datetime.now(UTC),
            )

        second = visit(other_room)
        async with BookingUnitOfWork(create_session_factory(engine), producer="booking") as uow:
            with pytest.raises(SlotTakenBy) as taken:
                await uow.appointments.hold(visit(held.room_id))
            assert (taken.value.resource, taken.value.resource_id) == ("room", held.room_id)
            await uow.appointments.hold(second)
            await uow.commit()

        async with engine.connect() as connection:
            stored = await connection.scalars(
                select(appointments.c.id).where(
                    appointments.c.clinic_id == held.clinic_id, appointments.c.starts_at == held.starts_at
                )
            )
            assert set(stored) == {held.id, second.id}
    finally:
        await engine.dispose()


async def _slot_constraints(test_env: TestEnvironment) -> dict[str, str]:
    """The definitions of the exclusion constraints, by resource, as PostgreSQL holds them."""
    engine = create_async_engine(test_env.database_url("booking"))
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = ANY(:names)"),
                {"names": sorted(SLOT_CONSTRAINTS)},
            )
            return {name.removeprefix("ex_appointments_"): definition for name, definition in rows}
    finally:
        await engine.dispose()


async def test_the_exclusion_constraints_count_exactly_the_statuses_the_domain_says_hold(
    booking: httpx.AsyncClient, test_env: TestEnvironment
) -> None:
    # The calendar reads busy periods through these constraints' partial indexes, with HOLDING as
    # its condition: a status added to one and not the other breaks double-booking or the index.
    definitions = (await _slot_constraints(test_env)).values()
    statuses = [set(re.findall(r"'(\w+)'::text", definition.split(" WHERE ")[1])) for definition in definitions]
    assert statuses == [set(HOLDING)] * len(SLOT_CONSTRAINTS)


async def test_the_exclusion_constraints_hold_the_periods_the_repository_reads_clashes_by(
    booking: httpx.AsyncClient, test_env: TestEnvironment
) -> None:
    # A refused hold is explained by reading SLOT_PERIODS; a constraint over other columns would make
    # the explanation (and the resource the booking then avoids) wrong.
    definitions = await _slot_constraints(test_env)
    assert set(definitions) == set(SLOT_PERIODS)
    for resource, (resource_id, start, end) in SLOT_PERIODS.items():
        period = f"({resource_id.key} WITH =, tstzrange({start.key}, {end.key}, '[)'::text) WITH &&)"
        assert period in definitions[resource], definitions[resource]


async def test_the_freed_time_trigger_counts_exactly_the_statuses_the_domain_says_hold(
    booking: httpx.AsyncClient, test_env: TestEnvironment
) -> None:
    # The trigger records the time a visit frees when it stops holding; a holding status missing from
    # its list would free time (a lapsed hold, say) without the waitlist ever hearing of it.
    engine = create_async_engine(test_env.database_url("booking"))
    try:
        async with engine.connect() as connection:
            definition = await connection.scalar(text("SELECT pg_get_functiondef('record_freed_time'::regproc)"))
    finally:
        await engine.dispose()
    lists = re.findall(r"(?:OLD|NEW)\.status IN \(([^)]*)\)", definition)
    assert len(lists) == 2, definition
    assert [set(re.findall(r"'(\w+)'", statuses)) for statuses in lists] == [set(HOLDING)] * 2
