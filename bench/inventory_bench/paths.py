"""The two ways of reserving a kit that I1 and I2 compare.

Ours: inventory's own handler for `appointment requested`, `reserve_for_visit`, called as the
appointment consumer calls it (the integration tests' `deliver` fixture): its own transaction, a
HandlerContext with an Outbox, the outbox flushed and the transaction committed. Not included: the
broker, parsing the message and the consumer's processed-message record (E1 measures those).

Raw: asyncpg doing the essential work in one transaction: per kit line one conditional
`UPDATE lots ... WHERE reserved + quarantined + q <= on_hand RETURNING`, one ledger batch, one outbox
row with an envelope shaped like the service's. It knows the lots in advance: it does not read the
clinic's time zone, kit or items, lock and allocate, keep a reservation record, or check reorder points.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from clinic_shared.events import Envelope
from clinic_shared.events.catalogue import AppointmentRequested, SuppliesReserved
from clinic_shared.messaging import HandlerContext
from clinic_shared.outbox import Outbox
from clinic_shared.runtime import SessionFactory
from inventory.service.reservations import reserve_for_visit
from inventory_bench.fixtures import KitClinic

RESERVED_KEY = SuppliesReserved.routing_key()

RESERVE = """
UPDATE lots SET reserved = reserved + $2
 WHERE id = $1 AND reserved + quarantined + $2 <= on_hand
RETURNING lot_number, expires_on
"""
LEDGER = """
INSERT INTO ledger (lot_id, clinic_id, item_id, on_hand_change, reserved_change, quarantined_change, reason,
                    appointment_id, actor)
VALUES ($1, $2, $3, 0, $4, 0, 'reserved', $5, 'inventory')
"""
OUTBOX = "INSERT INTO outbox (message_id, routing_key, body) VALUES ($1, $2, $3::jsonb)"


class Shortage(RuntimeError):
    """The raw baseline found a lot short: with the benchmark's stock that is a broken set-up."""


def visit_requested(clinic: KitClinic) -> AppointmentRequested:
    starts_at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    return AppointmentRequested(
        appointment_id=uuid.uuid4(),
        clinic_id=clinic.clinic_id,
        patient_id=uuid.uuid4(),
        treatment_id=uuid.uuid4(),
        practitioner_id=uuid.uuid4(),
        room_id=uuid.uuid4(),
        device_id=uuid.uuid4(),
        areas=["face"],
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=75),
    )


async def reserve_through_service(factory: SessionFactory, clinic: KitClinic) -> None:
    event = visit_requested(clinic)
    envelope = Envelope.wrap(event, producer="booking")
    async with factory() as session, session.begin():
        outbox = Outbox(producer="inventory")
        await reserve_for_visit(event, HandlerContext(session=session, outbox=outbox, envelope=envelope))
        await outbox.flush(session)


async def reserve_raw(pool: asyncpg.Pool, clinic: KitClinic) -> None:
    appointment_id = uuid.uuid4()
    async with pool.acquire() as connection, connection.transaction():
        allocations = []
        for lot in clinic.lots:
            row = await connection.fetchrow(RESERVE, lot.lot_id, lot.quantity)
            if row is None:
                raise Shortage(f"lot {lot.lot_number} is short")
            allocations.append(
                {
                    "item_id": str(lot.item_id),
                    "lot_number": row["lot_number"],
                    "expires_on": row["expires_on"].isoformat(),
                    "quantity": str(lot.quantity),
                    "unit": lot.unit,
                }
            )
        await connection.executemany(
            LEDGER,
            [(lot.lot_id, clinic.clinic_id, lot.item_id, lot.quantity, appointment_id) for lot in clinic.lots],
        )
        message_id = uuid.uuid4()
        await connection.execute(
            OUTBOX, message_id, RESERVED_KEY, json.dumps(_envelope(message_id, clinic, appointment_id, allocations))
        )


def _envelope(
    message_id: uuid.UUID, clinic: KitClinic, appointment_id: uuid.UUID, allocations: list[dict[str, str]]
) -> dict[str, object]:
    return {
        "message_id": str(message_id),
        "type": SuppliesReserved.event_type,
        "version": SuppliesReserved.version,
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": "inventory",
        "correlation_id": str(appointment_id),
        "causation_id": str(uuid.uuid4()),
        "trace_context": {"traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01", "tracestate": None},
        "payload": {
            "appointment_id": str(appointment_id),
            "clinic_id": str(clinic.clinic_id),
            "allocations": allocations,
        },
    }
