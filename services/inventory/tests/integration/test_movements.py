"""Managing stock, alerts and recalls against the real database: adjustments, counts, transfers,
`stock low` once per dip, the expiry sweep, the forecast, and a recall across clinics."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from clinic_shared.auth import Role
from clinic_shared.db import create_session_factory
from clinic_shared.events import catalogue
from clinic_shared.testing.plugin import TestEnvironment
from inventory.main import SERVICE
from inventory.service import alerts

pytestmark = pytest.mark.integration

NewClinic = Callable[..., Awaitable[Any]]
Receive = Callable[..., Awaitable[dict[str, Any]]]
Deliver = Callable[[Any], Awaitable[None]]
TODAY = datetime.now(UTC).date()
FAR = TODAY + timedelta(days=400)
VISIT = (datetime.now(UTC) + timedelta(days=10)).replace(hour=9, minute=0, second=0, microsecond=0)


def requested(clinic: Any) -> catalogue.AppointmentRequested:
    return catalogue.AppointmentRequested(
        appointment_id=uuid.uuid4(), clinic_id=clinic.id, patient_id=uuid.uuid4(), treatment_id=uuid.uuid4(),
        practitioner_id=uuid.uuid4(), room_id=uuid.uuid4(), device_id=uuid.uuid4(), areas=["face"],
        starts_at=VISIT, ends_at=VISIT + timedelta(minutes=75),
    )  # fmt: skip


async def _events(engine: AsyncEngine, event_type: str, **payload: str) -> list[dict[str, Any]]:
    where = " AND ".join(f"body->'payload'->>'{key}' = :{key}" for key in payload)
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(f"SELECT body FROM outbox WHERE body->>'type' = :type{' AND ' + where if where else ''} ORDER BY id"),
            {"type": event_type, **payload},
        )
        return [row.body["payload"] for row in rows]


async def _lots(inventory: httpx.AsyncClient, clinic: Any) -> dict[str, dict[str, Any]]:
    items = (await inventory.get(f"/clinics/{clinic.id}/stock", headers=clinic.manager)).json()["items"]
    return {lot["lot_number"]: lot for lot in items}


async def test_adjustments_never_go_below_zero_or_what_is_reserved(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, receive: Receive, deliver: Deliver
) -> None:
    clinic, other = await new_clinic(), await new_clinic()
    lot = await receive(clinic, clinic.cartridge, "CT-1", FAR, 3)
    await receive(clinic, clinic.cream, "LC-1", FAR, 30)
    await deliver(requested(clinic))  # reserves one cartridge
    foreign = await receive(other, other.cartridge, "CT-X", FAR, 3)
    url = f"/clinics/{clinic.id}/adjustments"

    damaged = await inventory.post(
        url, json={"lot_id": lot["id"], "change": "-1", "reason": "damaged_packaging"}, headers=clinic.manager
    )
    below_reserved = await inventory.post(
        url, json={"lot_id": lot["id"], "change": "-2", "reason": "dropped_or_contaminated"}, headers=clinic.manager
    )
    assert damaged.status_code == 200, damaged.text
    assert (damaged.json()["on_hand"], damaged.json()["reserved"]) == ("2.000", "1.000")
    assert (below_reserved.status_code, below_reserved.json()["code"]) == (409, "stock_below_reserved")
    for body, status in (
        ({"lot_id": lot["id"], "change": "-5", "reason": "expired_disposal"}, 422),
        ({"lot_id": lot["id"], "change": "0", "reason": "opened_unused"}, 422),
        ({"lot_id": lot["id"], "change": "-1", "reason": "lost_it"}, 422),
        ({"lot_id": foreign["id"], "change": "-1", "reason": "opened_unused"}, 404),
        ({"lot_id": str(uuid.uuid4()), "change": "-1", "reason": "opened_unused"}, 404),
    ):
        response = await inventory.post(url, json=body, headers=clinic.manager)
        assert response.status_code == status, (body, response.text)
    ledger = (await inventory.get(f"/clinics/{clinic.id}/ledger", params={"item_id": clinic.cartridge},
                                  headers=clinic.manager)).json()["items"]  # fmt: skip
    assert [e["reason"] for e in ledger] == ["received", "reserved", "adjusted_damaged_packaging"]


async def test_a_count_turns_variances_into_corrections_all_lines_or_none(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, receive: Receive
) -> None:
    clinic = await new_clinic()
    cartridges = await receive(clinic, clinic.cartridge, "CT-1", FAR, 10)
    cream = await receive(clinic, clinic.cream, "LC-1", FAR, 30)
    url = f"/clinics/{clinic.id}/counts"

    bad = await inventory.post(
        url,
        json={"lines": [{"lot_id": cartridges["id"], "counted": "8"}, {"lot_id": str(uuid.uuid4()), "counted": "1"}]},
        headers=clinic.manager,
    )
    assert (bad.status_code, bad.json()["field"]) == (404, "lines.1.lot_id")
    assert (await _lots(inventory, clinic))["CT-1"]["on_hand"] == "10.000", "nothing half-written"

    counted = await inventory.post(
        url,
        json={"lines": [{"lot_id": cartridges["id"], "counted": "8"}, {"lot_id": cream["id"], "counted": "30"}]},
        headers=clinic.manager,
    )
    assert counted.status_code == 200, counted.text
    assert [lot["on_hand"] for lot in counted.json()] == ["8.000", "30.000"]
    ledger = (await inventory.get(f"/clinics/{clinic.id}/ledger", params={"reason": "adjusted_count_correction"},
                                  headers=clinic.manager)).json()["items"]  # fmt: skip
    assert [(e["lot_number"], e["on_hand_change"]) for e in ledger] == [("CT-1", "-2.000")]


async def test_a_transfer_leaves_one_clinic_and_arrives_at_the_other_once(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, receive: Receive, test_env: TestEnvironment
) -> None:
    source, target = await new_clinic(), await new_clinic()
    lot = await receive(source, source.cartridge, "CT-T", FAR, 10)
    send = f"/clinics/{source.id}/transfers"

    same = await inventory.post(send, json={"to_clinic_id": str(source.id), "lot_id": lot["id"], "quantity": "1"},
                                headers=source.manager)  # fmt: skip
    too_many = await inventory.post(send, json={"to_clinic_id": str(target.id), "lot_id": lot["id"], "quantity": "11"},
                                    headers=source.manager)  # fmt: skip
    sent = await inventory.post(send, json={"to_clinic_id": str(target.id), "lot_id": lot["id"], "quantity": "4"},
                                headers=source.manager)  # fmt: skip
    assert (same.status_code, same.json()["field"]) == (422, "to_clinic_id")
    assert too_many.status_code == 422
    assert sent.status_code == 201, sent.text
    assert sent.json()["status"] == "in_transit"
    assert (await _lots(inventory, source))["CT-T"]["on_hand"] == "6.000"

    receive_url = f"/clinics/{target.id}/transfers/{sent.json()['id']}/receive"
    wrong_clinic = await inventory.post(f"/clinics/{source.id}/transfers/{sent.json()['id']}/receive",
                                        headers=source.manager)  # fmt: skip
    arrived = await inventory.post(receive_url, headers=target.manager)
    again = await inventory.post(receive_url, headers=target.manager)
    assert wrong_clinic.status_code == 422
    assert arrived.status_code == 200, arrived.text
    assert (arrived.json()["lot_number"], arrived.json()["on_hand"]) == ("CT-T", "4.000")
    assert (again.status_code, again.json()["code"]) == (409, "transfer_already_received")
    listed = (await inventory.get(f"/clinics/{target.id}/transfers", headers=target.manager)).json()["items"]
    assert [t["status"] for t in listed] == ["received"]


async def test_stock_low_goes_out_once_per_dip_below_the_reorder_point(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, receive: Receive, deliver: Deliver, engine: AsyncEngine
) -> None:
    clinic = await new_clinic()
    await receive(clinic, clinic.cartridge, "CT-1", FAR, 3)
    await receive(clinic, clinic.cream, "LC-1", FAR, 100)
    level = await inventory.put(f"/clinics/{clinic.id}/reorder-points/{clinic.cartridge}", json={"level": "2"},
                                headers=clinic.manager)  # fmt: skip
    assert level.status_code == 200, level.text

    async def low_alerts() -> int:
        return len(await _events(engine, "inventory.stock.low", clinic_id=str(clinic.id), item_id=clinic.cartridge))

    await deliver(requested(clinic))  # 2 available: not below 2
    assert await low_alerts() == 0
    await deliver(requested(clinic))  # 1 available
    await deliver(requested(clinic))  # 0 available: still the same dip
    assert await low_alerts() == 1
    [alert] = await _events(engine, "inventory.stock.low", clinic_id=str(clinic.id), item_id=clinic.cartridge)
    assert (Decimal(alert["available"]), Decimal(alert["reorder_point"])) == (1, 2)

    await receive(clinic, clinic.cartridge, "CT-2", FAR, 10)  # back above
    await deliver(requested(clinic))  # 9 available: fine, and re-armed
    adjust = await inventory.post(
        f"/clinics/{clinic.id}/adjustments",
        json={"lot_id": (await _lots(inventory, clinic))["CT-2"]["id"], "change": "-8", "reason": "expired_disposal"},
        headers=clinic.manager,
    )
    assert adjust.status_code == 200, adjust.text
    assert await low_alerts() == 2


async def test_the_expiry_sweep_announces_each_lot_once_and_the_forecast_counts_reserved_kits(
    inventory: httpx.AsyncClient,
    new_clinic: NewClinic,
    receive: Receive,
    deliver: Deliver,
    engine: AsyncEngine,
    test_env: TestEnvironment,
) -> None:
    clinic = await new_clinic()
    soon = TODAY + timedelta(days=40)
    await receive(clinic, clinic.cartridge, "CT-SOON", soon, 4)
    await receive(clinic, clinic.cartridge, "CT-LATER", FAR, 2)
    await receive(clinic, clinic.cream, "LC-1", FAR, 30)
    await deliver(requested(clinic))
    settings = test_env.settings(SERVICE, expiry_warning_days=45)

    await alerts.sweep_expiring(create_session_factory(engine), settings)  # type: ignore[arg-type]
    await alerts.sweep_expiring(create_session_factory(engine), settings)  # type: ignore[arg-type]

    expiring = await _events(engine, "inventory.lot.expiring", clinic_id=str(clinic.id))
    assert [(e["lot_number"], e["expires_on"]) for e in expiring] == [("CT-SOON", str(soon))]

    forecast = await inventory.get(f"/clinics/{clinic.id}/forecast", params={"days": 60}, headers=clinic.manager)
    assert forecast.status_code == 200, forecast.text
    cartridge = next(f for f in forecast.json() if f["item_id"] == clinic.cartridge)
    by_day = {d["day"]: d for d in cartridge["days"]}
    assert (by_day[str(TODAY)]["usable"], by_day[str(TODAY)]["committed"]) == ("6.000", "1.000")
    after_expiry = by_day[str(soon + timedelta(days=1))]
    assert (after_expiry["usable"], after_expiry["committed"]) == ("2.000", "0")
    assert cartridge["first_shortfall"] is None


async def test_a_recall_quarantines_everywhere_moves_future_kits_and_names_treated_visits(
    inventory: httpx.AsyncClient,
    new_clinic: NewClinic,
    receive: Receive,
    deliver: Deliver,
    engine: AsyncEngine,
    test_env: TestEnvironment,
) -> None:
    alpha, beta = await new_clinic(), await new_clinic()
    # Both clinics use the same cartridge item for the recall to span them.
    await inventory.put(f"/clinics/{beta.id}/kits/face", json=[{"item_id": alpha.cartridge, "quantity": "1"}],
                        headers=beta.manager)  # fmt: skip
    lot_number = f"CT-R-{uuid.uuid4().hex[:6]}"
    await receive(alpha, alpha.cartridge, lot_number, TODAY + timedelta(days=200), 5)
    await receive(alpha, alpha.cream, "LC-1", FAR, 50)
    treated, future = requested(alpha), requested(alpha)
    await deliver(treated)
    await deliver(
        catalogue.AppointmentCompleted(
            appointment_id=treated.appointment_id, clinic_id=alpha.id, patient_id=treated.patient_id,
            completed_at=datetime.now(UTC), areas=["face"],
            lots_used=[catalogue.LotUsed(item_id=uuid.UUID(alpha.cartridge), lot_number=lot_number)],
        )
    )  # fmt: skip
    await deliver(future)  # reserved on the lot to be recalled (the only cartridge lot then)
    await receive(alpha, alpha.cartridge, "CT-GOOD", FAR, 5)  # somewhere to move it to
    beta_lot = await receive(beta, alpha.cartridge, lot_number, TODAY + timedelta(days=200), 3)
    stranded = requested(beta)
    await deliver(stranded)  # beta has no other cartridge lot

    admin = test_env.auth_header(Role.ADMIN)
    recalled = await inventory.post("/recalls", json={"item_id": alpha.cartridge, "lot_number": lot_number},
                                    headers=admin)  # fmt: skip
    assert recalled.status_code == 201, recalled.text
    outcome = recalled.json()
    assert outcome["reallocated_appointments"] == [str(future.appointment_id)]
    assert outcome["short_appointments"] == [str(stranded.appointment_id)]
    assert outcome["treated_appointments"] == [
        {"appointment_id": str(treated.appointment_id), "clinic_id": str(alpha.id)}
    ]
    alpha_lots, beta_lots = await _lots(inventory, alpha), await _lots(inventory, beta)
    assert alpha_lots[lot_number]["recalled"] is True
    assert (
        alpha_lots[lot_number]["on_hand"],
        alpha_lots[lot_number]["reserved"],
        alpha_lots[lot_number]["quarantined"],
    ) == ("4.000", "0.000", "4.000")
    assert alpha_lots["CT-GOOD"]["reserved"] == "1.000"
    assert (beta_lots[lot_number]["reserved"], beta_lots[lot_number]["quarantined"]) == ("0.000", "3.000")
    assert beta_lot["id"] == beta_lots[lot_number]["id"]

    [announced] = await _events(engine, "inventory.lot.recalled", lot_number=lot_number)
    assert announced["affected_appointments"] == outcome["treated_appointments"]
    shortfalls = await _events(engine, "inventory.shortfall.projected", clinic_id=str(beta.id))
    assert [s["item_id"] for s in shortfalls] == [alpha.cartridge]
    again = await inventory.post("/recalls", json={"item_id": alpha.cartridge, "lot_number": lot_number}, headers=admin)
    unknown = await inventory.post("/recalls", json={"item_id": alpha.cartridge, "lot_number": "NOPE"}, headers=admin)
    by_manager = await inventory.post("/recalls", json={"item_id": alpha.cartridge, "lot_number": "X"},
                                      headers=alpha.manager)  # fmt: skip
    assert (again.status_code, unknown.status_code, by_manager.status_code) == (409, 404, 403)
    moved = await inventory.post(
        f"/clinics/{alpha.id}/transfers",
        json={"to_clinic_id": str(beta.id), "lot_id": alpha_lots[lot_number]["id"], "quantity": "1"},
        headers=alpha.manager,
    )
    assert moved.status_code == 422, "recalled stock does not move"


async def test_an_opened_tube_of_cream_is_tracked_by_the_grams_left(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, receive: Receive, test_env: TestEnvironment
) -> None:
    clinic = await new_clinic()
    tube_cream = await inventory.post(
        "/items",
        json={"name": "Lidocaine 4%, 30 g tube", "kind": "numbing_cream", "unit": "tube",
              "active_ingredient": "lidocaine", "concentration_percent": "4", "tube_grams": "30"},
        headers=test_env.auth_header(Role.ADMIN),
    )  # fmt: skip
    assert tube_cream.status_code == 201, tube_cream.text
    lot = await receive(clinic, tube_cream.json()["id"], "TB-1", FAR, 2)
    cartridges = await receive(clinic, clinic.cartridge, "CT-1", FAR, 2)

    opened = await inventory.post(f"/clinics/{clinic.id}/lots/{lot['id']}/open-tube", headers=clinic.manager)
    assert opened.status_code == 201, opened.text
    assert opened.json()["grams_left"] == "30.00"
    assert (await _lots(inventory, clinic))["TB-1"]["on_hand"] == "1.000", "one tube left the shelf"
    use = f"/clinics/{clinic.id}/opened-tubes/{opened.json()['id']}/use"
    assert (await inventory.post(use, json={"grams": "12.5"}, headers=clinic.manager)).json()["grams_left"] == "17.50"
    too_much = await inventory.post(use, json={"grams": "20"}, headers=clinic.manager)
    assert (too_much.status_code, too_much.json()["code"]) == (409, "not_enough_left")
    finished = await inventory.post(use, json={"grams": "17.5"}, headers=clinic.manager)
    assert finished.json()["finished_at"] is not None
    assert (await inventory.get(f"/clinics/{clinic.id}/opened-tubes", headers=clinic.manager)).json() == []
    not_tube = await inventory.post(f"/clinics/{clinic.id}/lots/{cartridges['id']}/open-tube", headers=clinic.manager)
    assert (not_tube.status_code, not_tube.json()["code"]) == (422, "not_a_tube")

    second = await inventory.post(f"/clinics/{clinic.id}/lots/{lot['id']}/open-tube", headers=clinic.manager)
    assert second.status_code == 201, second.text
    recalled = await inventory.post(
        "/recalls", json={"item_id": tube_cream.json()["id"], "lot_number": "TB-1"},
        headers=test_env.auth_header(Role.ADMIN),
    )  # fmt: skip
    assert recalled.status_code == 201, recalled.text
    in_use = await inventory.post(
        f"/clinics/{clinic.id}/opened-tubes/{second.json()['id']}/use", json={"grams": "1"}, headers=clinic.manager
    )
    assert (in_use.status_code, in_use.json()["code"]) == (409, "lot_recalled"), (
        "a recalled lot's open tube is not used"
    )


async def test_a_recalled_lot_is_refused_at_the_door_and_arrives_quarantined_from_the_road(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, receive: Receive, test_env: TestEnvironment
) -> None:
    source, target = await new_clinic(), await new_clinic()
    lot_number = f"CT-Q-{uuid.uuid4().hex[:6]}"
    lot = await receive(source, source.cartridge, lot_number, FAR, 5)
    on_the_road = await inventory.post(
        f"/clinics/{source.id}/transfers",
        json={"to_clinic_id": str(target.id), "lot_id": lot["id"], "quantity": "2"},
        headers=source.manager,
    )
    assert on_the_road.status_code == 201, on_the_road.text
    recalled = await inventory.post(
        "/recalls",
        json={"item_id": source.cartridge, "lot_number": lot_number},
        headers=test_env.auth_header(Role.ADMIN),
    )
    assert recalled.status_code == 201, recalled.text

    delivery = await inventory.post(
        f"/clinics/{target.id}/deliveries",
        json={"item_id": source.cartridge, "lot_number": lot_number, "expires_on": str(FAR), "quantity": "3"},
        headers=target.manager,
    )
    arrived = await inventory.post(
        f"/clinics/{target.id}/transfers/{on_the_road.json()['id']}/receive", headers=target.manager
    )

    assert (delivery.status_code, delivery.json()["code"]) == (409, "lot_recalled")
    assert arrived.status_code == 200, arrived.text
    assert (arrived.json()["on_hand"], arrived.json()["quarantined"], arrived.json()["available"]) == (
        "2.000", "2.000", "0.000",
    )  # fmt: skip
    assert arrived.json()["recalled"] is True
