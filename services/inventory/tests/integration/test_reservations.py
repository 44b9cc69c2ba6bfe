"""Inventory's half of the saga against the real database: booking's events, in their contract form,
handed to the handlers in their own transactions (as the consumer does), and the answers inventory
writes to its outbox."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from clinic_shared.auth import Role
from clinic_shared.events import catalogue
from clinic_shared.testing.plugin import TestEnvironment
from inventory.adapters.repositories import ClinicNotKnown
from inventory.service.reservations import RequestNotYetHandled

pytestmark = pytest.mark.integration

NewClinic = Callable[..., Awaitable[Any]]
Receive = Callable[..., Awaitable[dict[str, Any]]]
Answers = Callable[[uuid.UUID], Awaitable[list[dict[str, Any]]]]
Deliver = Callable[[Any], Awaitable[None]]
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
VISIT = (datetime.now(UTC) + timedelta(days=10)).replace(hour=9, minute=0, second=0, microsecond=0)


def requested(
    clinic: Any, *, starts_at: datetime = VISIT, areas: tuple[str, ...] = ("face",), device_model: str | None = None
) -> Any:
    return catalogue.AppointmentRequested(
        device_model=device_model,
        appointment_id=uuid.uuid4(),
        clinic_id=clinic.id,
        patient_id=uuid.uuid4(),
        treatment_id=uuid.uuid4(),
        practitioner_id=uuid.uuid4(),
        room_id=uuid.uuid4(),
        device_id=uuid.uuid4(),
        areas=list(areas),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=75),
    )


async def _lots(inventory: httpx.AsyncClient, clinic: Any) -> dict[str, dict[str, Any]]:
    items = (await inventory.get(f"/clinics/{clinic.id}/stock", headers=clinic.manager)).json()["items"]
    return {lot["lot_number"]: lot for lot in items}


async def test_a_requested_visit_gets_its_whole_kit_first_expiry_first(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, receive: Receive, deliver: Deliver, answers: Answers
) -> None:
    clinic = await new_clinic()
    visit_day = VISIT.astimezone(AMSTERDAM).date()
    await receive(clinic, clinic.cartridge, "CT-LATE", visit_day + timedelta(days=300), 5)
    await receive(clinic, clinic.cartridge, "CT-SOON", visit_day + timedelta(days=40), 5)
    await receive(clinic, clinic.cream, "LC-A", visit_day + timedelta(days=60), 2)  # 2 g: not enough alone
    await receive(clinic, clinic.cream, "LC-B", visit_day + timedelta(days=90), 50)

    event = requested(clinic)
    await deliver(event)

    [answer] = await answers(event.appointment_id)
    assert answer["type"] == "inventory.supplies.reserved"
    assert sorted((a["lot_number"], Decimal(a["quantity"])) for a in answer["allocations"]) == [
        ("CT-SOON", 1),
        ("LC-A", 2),
        ("LC-B", 1),
    ]
    lots = await _lots(inventory, clinic)
    assert (lots["CT-SOON"]["reserved"], lots["CT-LATE"]["reserved"]) == ("1.000", "0.000")
    assert (lots["LC-A"]["available"], lots["LC-B"]["reserved"]) == ("0.000", "1.000")


async def test_no_stock_valid_on_the_visit_day_means_unavailable_and_nothing_reserved(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, receive: Receive, deliver: Deliver, answers: Answers
) -> None:
    clinic = await new_clinic()
    starts_at = VISIT + timedelta(days=60)
    visit_day = starts_at.astimezone(AMSTERDAM).date()
    await receive(clinic, clinic.cartridge, "CT-1", visit_day + timedelta(days=100), 5)
    await receive(clinic, clinic.cream, "LC-OLD", visit_day - timedelta(days=1), 50)  # expires the day before

    event = requested(clinic, starts_at=starts_at)
    await deliver(event)

    [answer] = await answers(event.appointment_id)
    assert answer["type"] == "inventory.supplies.unavailable"
    assert answer["reason"] == "no_valid_lot"
    assert [(m["item_id"], Decimal(m["required"]), m["unit"]) for m in answer["missing"]] == [(clinic.cream, 3, "gram")]
    assert (await _lots(inventory, clinic))["CT-1"]["reserved"] == "0.000", "all or nothing"

    unknown_area = requested(clinic, areas=("decolletage",))
    await deliver(unknown_area)
    [no_kit] = await answers(unknown_area.appointment_id)
    assert (no_kit["type"], no_kit["reason"]) == ("inventory.supplies.unavailable", "no_kit_defined")


async def test_a_hundred_concurrent_requests_against_ten_kits_reserve_exactly_ten(
    inventory: httpx.AsyncClient,
    new_clinic: NewClinic,
    receive: Receive,
    deliver: Deliver,
    answers: Answers,
    engine: AsyncEngine,
) -> None:
    clinic = await new_clinic()
    far = VISIT.date() + timedelta(days=365)
    await receive(clinic, clinic.cartridge, "CT-HOT", far, 10)
    await receive(clinic, clinic.cream, "LC-HOT", far, 1000)
    events = [requested(clinic) for _ in range(100)]

    await asyncio.gather(*(deliver(event) for event in events))

    kinds = [(await answers(event.appointment_id))[0]["type"] for event in events]
    assert kinds.count("inventory.supplies.reserved") == 10
    assert kinds.count("inventory.supplies.unavailable") == 90
    lots = await _lots(inventory, clinic)
    assert (lots["CT-HOT"]["reserved"], lots["CT-HOT"]["available"]) == ("10.000", "0.000")
    assert lots["LC-HOT"]["reserved"] == "30.000"
    async with engine.connect() as connection:
        reserved_in_ledger = await connection.scalar(
            text("SELECT sum(reserved_change) FROM ledger WHERE lot_id = :lot"), {"lot": lots["CT-HOT"]["id"]}
        )
    assert reserved_in_ledger == 10


async def test_duplicates_and_a_release_before_its_request_are_handled(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, receive: Receive, deliver: Deliver, answers: Answers
) -> None:
    clinic = await new_clinic()
    far = VISIT.date() + timedelta(days=365)
    await receive(clinic, clinic.cartridge, "CT-1", far, 5)
    await receive(clinic, clinic.cream, "LC-1", far, 50)

    event = requested(clinic)
    await deliver(event)
    await deliver(event)  # the same request again, e.g. re-published with a new message id
    first, again = await answers(event.appointment_id)
    assert first == again, "the same answer"
    assert (await _lots(inventory, clinic))["CT-1"]["reserved"] == "1.000", "reserved once"

    late = requested(clinic)
    cancelled = catalogue.AppointmentCancelled(
        appointment_id=late.appointment_id, clinic_id=clinic.id, patient_id=late.patient_id, cancelled_by="patient"
    )
    await deliver(cancelled)  # overtakes its request
    await deliver(late)
    assert await answers(late.appointment_id) == []
    assert (await _lots(inventory, clinic))["CT-1"]["reserved"] == "1.000", "nothing reserved for a cancelled visit"


async def test_cancel_releases_and_completion_consumes_the_lot_the_practitioner_recorded(
    inventory: httpx.AsyncClient,
    new_clinic: NewClinic,
    receive: Receive,
    deliver: Deliver,
    answers: Answers,
    engine: AsyncEngine,
) -> None:
    clinic = await new_clinic()
    far = VISIT.date() + timedelta(days=365)
    await receive(clinic, clinic.cartridge, "CT-A", far, 5)
    await receive(clinic, clinic.cartridge, "CT-B", far + timedelta(days=30), 5)
    await receive(clinic, clinic.cream, "LC-1", far, 50)

    cancelled_visit, treated = requested(clinic), requested(clinic)
    await deliver(cancelled_visit)
    await deliver(treated)
    await deliver(
        catalogue.AppointmentCancelled(
            appointment_id=cancelled_visit.appointment_id,
            clinic_id=clinic.id,
            patient_id=cancelled_visit.patient_id,
            cancelled_by="staff",
        )
    )
    await deliver(
        catalogue.AppointmentCompleted(
            appointment_id=treated.appointment_id,
            clinic_id=clinic.id,
            patient_id=treated.patient_id,
            completed_at=datetime.now(UTC),
            areas=["face"],
            lots_used=[catalogue.LotUsed(item_id=uuid.UUID(clinic.cartridge), lot_number="CT-B")],
        )
    )

    assert [a["type"] for a in await answers(cancelled_visit.appointment_id)] == [
        "inventory.supplies.reserved",
        "inventory.supplies.released",
    ]
    consumed = (await answers(treated.appointment_id))[-1]
    assert consumed["type"] == "inventory.supplies.consumed"
    assert sorted((c["lot_number"], Decimal(c["quantity"])) for c in consumed["consumed"]) == [("CT-B", 1), ("LC-1", 3)]
    lots = await _lots(inventory, clinic)
    assert (lots["CT-A"]["on_hand"], lots["CT-A"]["reserved"]) == ("5.000", "0.000"), "reserved, then let go"
    assert (lots["CT-B"]["on_hand"], lots["LC-1"]["on_hand"], lots["LC-1"]["reserved"]) == ("4.000", "47.000", "0.000")
    async with engine.connect() as connection:
        traced = await connection.scalar(
            text("SELECT count(*) FROM ledger WHERE appointment_id = :id AND reason = 'consumed' AND lot_id = :lot"),
            {"id": treated.appointment_id, "lot": lots["CT-B"]["id"]},
        )
    assert traced == 1, "which lot treated which appointment"


async def test_a_visit_moved_past_its_lots_expiry_is_reallocated(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, receive: Receive, deliver: Deliver, answers: Answers
) -> None:
    clinic = await new_clinic()
    visit_day = VISIT.astimezone(AMSTERDAM).date()
    await receive(clinic, clinic.cartridge, "CT-SHORT", visit_day + timedelta(days=35), 5)
    await receive(clinic, clinic.cartridge, "CT-LONG", visit_day + timedelta(days=400), 5)
    await receive(clinic, clinic.cream, "LC-1", visit_day + timedelta(days=400), 50)
    event = requested(clinic)
    await deliver(event)
    moved_to = VISIT + timedelta(days=50)
    await deliver(
        catalogue.AppointmentRescheduled(
            appointment_id=event.appointment_id,
            clinic_id=clinic.id,
            patient_id=event.patient_id,
            previous_starts_at=VISIT,
            starts_at=moved_to,
            ends_at=moved_to + timedelta(minutes=75),
            areas=["face"],
            practitioner_id=event.practitioner_id,
            room_id=event.room_id,
            device_id=event.device_id,
        )
    )

    first, after_move = await answers(event.appointment_id)
    assert "CT-SHORT" in {a["lot_number"] for a in first["allocations"]}
    assert after_move["type"] == "inventory.supplies.reserved"
    assert {a["lot_number"] for a in after_move["allocations"]} == {"CT-LONG", "LC-1"}
    lots = await _lots(inventory, clinic)
    assert (lots["CT-SHORT"]["reserved"], lots["CT-LONG"]["reserved"], lots["LC-1"]["reserved"]) == (
        "0.000",
        "1.000",
        "3.000",
    )


async def test_an_event_for_a_clinic_inventory_does_not_know_yet_is_retried_not_answered(
    deliver: Deliver, answers: Answers
) -> None:
    stranger = type("Clinic", (), {"id": uuid.uuid4()})()
    event = requested(stranger)
    with pytest.raises(ClinicNotKnown):
        await deliver(event)  # the consumer sends it through its retry tiers, then to the error queue
    assert await answers(event.appointment_id) == []


async def test_the_cartridge_reserved_is_one_that_fits_the_visits_device(
    inventory: httpx.AsyncClient,
    new_clinic: NewClinic,
    receive: Receive,
    deliver: Deliver,
    answers: Answers,
    test_env: TestEnvironment,
) -> None:
    clinic = await new_clinic()  # its own cartridge fits "Pen 4"
    other = await inventory.post(
        "/items",
        json={"name": "Cartridge for Derma X", "kind": "cartridge", "unit": "each", "needle_configuration": "12-pin",
              "fits_device_models": ["Derma X"]},
        headers=test_env.auth_header(Role.ADMIN),
    )  # fmt: skip
    kit = [
        {"item_id": clinic.cartridge, "quantity": "1"},
        {"item_id": other.json()["id"], "quantity": "1"},
        {"item_id": clinic.cream, "quantity": "3"},
    ]
    assert (await inventory.put(f"/clinics/{clinic.id}/kits/face", json=kit, headers=clinic.manager)).status_code == 200
    far = VISIT.date() + timedelta(days=365)
    await receive(clinic, clinic.cartridge, "PEN-1", far, 5)
    await receive(clinic, other.json()["id"], "DX-1", far, 5)
    await receive(clinic, clinic.cream, "LC-1", far, 50)

    on_derma, on_unknown_model = requested(clinic, device_model="Derma X"), requested(clinic, device_model="Nova")
    await deliver(on_derma)
    await deliver(on_unknown_model)

    [reserved] = await answers(on_derma.appointment_id)
    assert sorted(a["lot_number"] for a in reserved["allocations"]) == ["DX-1", "LC-1"]
    [refused] = await answers(on_unknown_model.appointment_id)
    assert (refused["type"], refused["reason"]) == ("inventory.supplies.unavailable", "no_kit_defined")


async def test_a_move_that_overtakes_its_request_waits_for_it_instead_of_cancelling_it(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, receive: Receive, deliver: Deliver, answers: Answers
) -> None:
    clinic = await new_clinic()
    far = VISIT.date() + timedelta(days=365)
    await receive(clinic, clinic.cartridge, "CT-1", far, 5)
    await receive(clinic, clinic.cream, "LC-1", far, 50)
    event = requested(clinic)
    moved_to = VISIT + timedelta(days=1)
    moved = catalogue.AppointmentRescheduled(
        appointment_id=event.appointment_id, clinic_id=clinic.id, patient_id=event.patient_id,
        previous_starts_at=VISIT, starts_at=moved_to, ends_at=moved_to + timedelta(minutes=75), areas=["face"],
        practitioner_id=event.practitioner_id, room_id=event.room_id, device_id=event.device_id,
    )  # fmt: skip

    with pytest.raises(RequestNotYetHandled):
        await deliver(moved)  # the consumer retries it through its tiers
    await deliver(event)
    await deliver(moved)

    [reserved] = await answers(event.appointment_id)
    assert reserved["type"] == "inventory.supplies.reserved", "the request was answered, not swallowed"
