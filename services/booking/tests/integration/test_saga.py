"""Booking's half of the saga with inventory's answers published on the real broker in their contract
form, consumed by booking's worker."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from booking.main import SERVICE
from booking.service import saga
from booking.settings import BookingSettings
from clinic_shared.db import create_session_factory
from clinic_shared.events import Envelope, Event
from clinic_shared.events.catalogue import LotAllocation, MissingSupply, SuppliesReserved, SuppliesUnavailable
from clinic_shared.messaging import Broker
from clinic_shared.testing.messaging import eventually
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

NewBookable = Callable[..., Awaitable[Any]]


async def _answer(broker: Broker, event: Event) -> uuid.UUID:
    envelope = Envelope.wrap(event, producer="inventory")
    await broker.publish_event(envelope.to_json_dict(), routing_key=envelope.routing_key)
    return envelope.message_id


async def _book(booking: httpx.AsyncClient, new_bookable: NewBookable) -> tuple[Any, dict[str, Any]]:
    place = await new_bookable()
    booked = await booking.post("/appointments", json=place.body(place.at(10)))
    assert booked.status_code == 201, booked.text
    return place, booked.json()


async def _status(booking: httpx.AsyncClient, booked: dict[str, Any]) -> str:
    headers = {"Authorization": f"Bearer {booked['manage_token']}"}
    status: str = (await booking.get(f"/appointments/{booked['appointment']['id']}", headers=headers)).json()["status"]
    return status


async def test_reserved_supplies_confirm_the_visit(
    booking: httpx.AsyncClient, new_bookable: NewBookable, inventory: Broker
) -> None:
    place, booked = await _book(booking, new_bookable)
    appointment = booked["appointment"]

    await _answer(
        inventory,
        SuppliesReserved(
            appointment_id=appointment["id"],
            clinic_id=place.clinic_id,
            allocations=[
                LotAllocation(
                    item_id=uuid.uuid4(), lot_number="L-1", expires_on=date(2027, 6, 1), quantity=1, unit="each"
                )
            ],
        ),
    )

    async def confirmed() -> bool:
        return await _status(booking, booked) == "confirmed"

    await eventually(confirmed, what="the visit to be confirmed")


async def test_unavailable_supplies_reject_the_visit_and_free_its_time(
    booking: httpx.AsyncClient, new_bookable: NewBookable, inventory: Broker
) -> None:
    place, booked = await _book(booking, new_bookable)

    await _answer(
        inventory,
        SuppliesUnavailable(
            appointment_id=booked["appointment"]["id"],
            clinic_id=place.clinic_id,
            reason="insufficient_stock",
            missing=[MissingSupply(item_id=uuid.uuid4(), required=1, available=0, unit="each")],
        ),
    )

    async def rejected() -> bool:
        return await _status(booking, booked) == "rejected"

    await eventually(rejected, what="the visit to be rejected")
    again = await booking.post("/appointments", json=place.body(place.at(10)))
    assert again.status_code == 201, "a rejected visit no longer holds its time"


async def test_an_unanswered_request_is_rejected_after_the_timeout_and_a_late_answer_changes_nothing(
    booking: httpx.AsyncClient, new_bookable: NewBookable, test_env: TestEnvironment, inventory: Broker
) -> None:
    place, booked = await _book(booking, new_bookable)
    appointment_id = booked["appointment"]["id"]
    settings = test_env.settings(SERVICE, supplies_timeout_s=60)
    assert isinstance(settings, BookingSettings)
    engine = create_async_engine(test_env.database_url("booking"))
    try:
        async with engine.begin() as connection:  # the request was made two minutes ago
            await connection.execute(
                text("UPDATE appointments SET requested_at = requested_at - interval '2 minutes' WHERE id = :id"),
                {"id": appointment_id},
            )
        await saga.reject_unanswered(create_session_factory(engine), settings)
        async with engine.connect() as connection:
            reason = await connection.scalar(
                text(
                    "SELECT body->'payload'->>'reason' FROM outbox"
                    " WHERE body->>'type' = 'booking.appointment.rejected' AND body->'payload'->>'appointment_id' = :id"
                ),
                {"id": appointment_id},
            )
    finally:
        await engine.dispose()
    assert reason == "supplies_timeout"
    assert await _status(booking, booked) == "rejected"

    late = await _answer(
        inventory,
        SuppliesReserved(
            appointment_id=appointment_id,
            clinic_id=place.clinic_id,
            allocations=[
                LotAllocation(
                    item_id=uuid.uuid4(), lot_number="L-2", expires_on=date(2027, 6, 1), quantity=1, unit="each"
                )
            ],
        ),
    )
    await eventually(lambda: _handled(test_env, late), what="the late answer to be handled")
    assert await _status(booking, booked) == "rejected"


async def _handled(env: TestEnvironment, message_id: uuid.UUID) -> bool:
    engine = create_async_engine(env.database_url("booking"))
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(
                text("SELECT count(*) FROM processed_messages WHERE message_id = :id"), {"id": message_id}
            )
    finally:
        await engine.dispose()
    return found == 1
