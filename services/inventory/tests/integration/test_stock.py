"""Receiving, stock by lot, the ledger and kits through the API, against the real database."""

from __future__ import annotations

import asyncio
import csv as csv_module
import io
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from clinic_shared.auth import Role
from clinic_shared.db import create_session_factory
from clinic_shared.testing.plugin import TestEnvironment
from inventory.main import SERVICE
from inventory.service.stock import reconcile

pytestmark = pytest.mark.integration

NewClinic = Callable[..., Awaitable[Any]]
Receive = Callable[..., Awaitable[dict[str, Any]]]
TODAY = datetime.now(UTC).date()
LATER = TODAY + timedelta(days=400)
GTIN = "09506000134352"


async def test_a_delivery_is_received_into_its_lot_and_the_ledger(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, receive: Receive
) -> None:
    clinic = await new_clinic()
    first = await receive(clinic, clinic.cartridge, "CT-100", LATER, 20)
    again = await receive(clinic, clinic.cartridge, "CT-100", LATER, 5)

    assert first["id"] == again["id"], "the same lot number at the same clinic is one lot"
    assert (again["on_hand"], again["reserved"], again["available"]) == ("25.000", "0.000", "25.000")
    ledger = (await inventory.get(f"/clinics/{clinic.id}/ledger", headers=clinic.manager)).json()["items"]
    assert [(e["reason"], e["on_hand_change"], e["lot_number"]) for e in ledger] == [
        ("received", "20.000", "CT-100"),
        ("received", "5.000", "CT-100"),
    ]
    assert ledger[0]["actor"] == "test-user"
    csv = await inventory.get(f"/clinics/{clinic.id}/ledger", params={"format": "csv"}, headers=clinic.manager)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("id,recorded_at,item_id,lot_id,lot_number,reason")
    assert len(csv.text.splitlines()) == 3

    formula = await inventory.post(
        f"/clinics/{clinic.id}/deliveries",
        json={"item_id": clinic.cartridge, "lot_number": "CT-100", "expires_on": str(LATER), "quantity": "1",
              "supplier": '=HYPERLINK("http://evil.example")'},
        headers=clinic.manager,
    )  # fmt: skip
    assert formula.status_code == 201, formula.text
    csv = await inventory.get(f"/clinics/{clinic.id}/ledger", params={"format": "csv"}, headers=clinic.manager)
    last = list(csv_module.DictReader(io.StringIO(csv.text)))[-1]
    assert last["reference"] == '\'=HYPERLINK("http://evil.example")', "a supplier's text never runs as a formula"
    assert last["on_hand_change"] == "1.000", "numbers are left alone"


async def test_a_gs1_barcode_can_replace_the_typed_fields(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, test_env: TestEnvironment
) -> None:
    clinic = await new_clinic()
    gtin_item = await inventory.post(
        "/items",
        json={"name": "Nano cartridge", "kind": "cartridge", "unit": "each", "needle_configuration": "nano",
              "fits_device_models": ["Pen 4"], "gtin": GTIN},
        headers=test_env.auth_header(Role.ADMIN),
    )  # fmt: skip
    assert gtin_item.status_code == 201, gtin_item.text
    expiry = LATER.replace(day=1)
    scanned = await inventory.post(
        f"/clinics/{clinic.id}/deliveries",
        json={"barcode": f"]C101{GTIN}17{expiry:%y%m%d}10NANO-7\x1d21S1", "quantity": "10"},
        headers=clinic.manager,
    )
    assert scanned.status_code == 201, scanned.text
    assert (scanned.json()["item_id"], scanned.json()["lot_number"]) == (gtin_item.json()["id"], "NANO-7")
    assert scanned.json()["expires_on"] == str(expiry)

    bad = await inventory.post(
        f"/clinics/{clinic.id}/deliveries",
        json={"barcode": "(01)09506000134353(17)281231(10)X", "quantity": "1"},
        headers=clinic.manager,
    )
    assert (bad.status_code, bad.json()["code"], bad.json()["field"]) == (422, "invalid_barcode", "barcode")


async def test_bad_deliveries_are_refused_with_the_field_named_and_nothing_written(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, receive: Receive, engine: AsyncEngine
) -> None:
    clinic = await new_clinic()
    await receive(clinic, clinic.cream, "LC-1", LATER, 100)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"item_id": clinic.cream, "lot_number": "LC-2", "expires_on": str(TODAY - timedelta(days=1))}, 422,
         "expires_on"),
        ({"item_id": clinic.cream, "lot_number": "LC-3", "expires_on": str(TODAY + timedelta(days=10))}, 422,
         "expires_on"),
        ({"item_id": clinic.cream, "lot_number": "LC-1", "expires_on": str(LATER + timedelta(days=1))}, 409,
         "expires_on"),
        ({"item_id": str(uuid.uuid4()), "lot_number": "LC-4", "expires_on": str(LATER)}, 404, "item_id"),
        ({"item_id": clinic.cream, "lot_number": "LC-5", "expires_on": str(LATER), "quantity": "0"}, 422, "quantity"),
        ({"item_id": clinic.cream, "lot_number": "LC-6", "expires_on": str(LATER), "quantity": "-3"}, 422, "quantity"),
        ({"item_id": clinic.cream, "lot_number": "LC-7", "expires_on": str(LATER), "quantity": True}, 422, "quantity"),
        ({"lot_number": "LC-8", "expires_on": str(LATER)}, 422, "item_id"),
        ({"item_id": clinic.cream, "barcode": "(01)09506000134352(17)281231(10)ABC123"}, 422, "barcode"),
    ]  # fmt: skip
    for body, status, field in cases:
        response = await inventory.post(
            f"/clinics/{clinic.id}/deliveries", json={"quantity": "5", **body}, headers=clinic.manager
        )
        assert response.status_code == status, (body, response.text)
        assert field in (response.json().get("field") or ""), (body, response.text)

    stock = (await inventory.get(f"/clinics/{clinic.id}/stock", headers=clinic.manager)).json()["items"]
    assert [(lot["lot_number"], lot["on_hand"]) for lot in stock] == [("LC-1", "100.000")]
    async with engine.connect() as connection:
        entries = await connection.scalar(
            text("SELECT count(*) FROM ledger WHERE clinic_id = :clinic"), {"clinic": clinic.id}
        )
    assert entries == 1


async def test_a_manager_reaches_only_their_own_clinics_stock(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, receive: Receive, test_env: TestEnvironment
) -> None:
    mine, theirs = await new_clinic(), await new_clinic()
    await receive(theirs, theirs.cartridge, "CT-9", LATER, 3)
    for method, path in (
        ("GET", f"/clinics/{theirs.id}/stock"),
        ("GET", f"/clinics/{theirs.id}/ledger"),
        ("GET", f"/clinics/{theirs.id}/kits"),
        ("POST", f"/clinics/{theirs.id}/deliveries"),
        ("PUT", f"/clinics/{theirs.id}/kits/face"),
    ):
        body = {"item_id": mine.cartridge, "lot_number": "X", "expires_on": str(LATER), "quantity": "1"}
        response = await inventory.request(method, path, json=body if method == "POST" else [], headers=mine.manager)
        assert response.status_code == 403, (method, path, response.text)
    desk = test_env.auth_header(Role.FRONT_DESK, clinics=[theirs.id])
    refused = await inventory.post(
        f"/clinics/{theirs.id}/deliveries",
        json={"item_id": theirs.cartridge, "lot_number": "X", "expires_on": str(LATER), "quantity": "1"},
        headers=desk,
    )
    assert refused.status_code == 403, "receiving is for managers"
    unknown = await inventory.get(f"/clinics/{uuid.uuid4()}/stock", headers=test_env.auth_header(Role.ADMIN))
    assert unknown.status_code == 404


async def test_stock_lists_filter_and_paginate(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, receive: Receive
) -> None:
    clinic = await new_clinic()
    for number in range(3):
        await receive(clinic, clinic.cartridge, f"CT-{number}", LATER + timedelta(days=number), 1)
    await receive(clinic, clinic.cream, "LC-1", TODAY + timedelta(days=60), 50)

    page = (await inventory.get(f"/clinics/{clinic.id}/stock", params={"limit": 2}, headers=clinic.manager)).json()
    rest = (
        await inventory.get(f"/clinics/{clinic.id}/stock", params={"limit": 2, "offset": 2}, headers=clinic.manager)
    ).json()
    soon = (
        await inventory.get(
            f"/clinics/{clinic.id}/stock",
            params={"expiring_before": str(TODAY + timedelta(days=90))},
            headers=clinic.manager,
        )
    ).json()

    assert (len(page["items"]), page["next_offset"], len(rest["items"]), rest["next_offset"]) == (2, 2, 2, None)
    assert [lot["lot_number"] for lot in soon["items"]] == ["LC-1"]


async def test_the_ledger_is_append_only_and_reconciliation_reports_drift_without_fixing_it(
    inventory: httpx.AsyncClient,
    new_clinic: NewClinic,
    receive: Receive,
    engine: AsyncEngine,
    test_env: TestEnvironment,
) -> None:
    clinic = await new_clinic()
    lot = await receive(clinic, clinic.cartridge, "CT-D", LATER, 4)
    assert [d for d in await reconcile(create_session_factory(engine)) if d["id"] == uuid.UUID(lot["id"])] == []

    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE ledger SET on_hand_change = 0 WHERE lot_id = :lot"), {"lot": lot["id"]}
            )
    async with engine.begin() as connection:  # someone edits a balance behind the ledger's back
        await connection.execute(text("UPDATE lots SET on_hand = on_hand + 1 WHERE id = :lot"), {"lot": lot["id"]})

    [drift] = [d for d in await reconcile(create_session_factory(engine)) if d["id"] == uuid.UUID(lot["id"])]
    assert (drift["on_hand"], drift["ledger_on_hand"]) == (5, 4)
    command = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "inventory-reconcile"),
        env={**os.environ, **test_env.environ(SERVICE)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(command.communicate(), timeout=60)
    assert command.returncode == 1, err.decode()
    assert lot["id"] in out.decode()
    stock = (await inventory.get(f"/clinics/{clinic.id}/stock", headers=clinic.manager)).json()["items"]
    assert stock[0]["on_hand"] == "5.000", "reconciliation reports; it changes nothing"


async def test_kits_fall_back_to_the_chains_default_per_area(
    inventory: httpx.AsyncClient, new_clinic: NewClinic, receive: Receive, test_env: TestEnvironment
) -> None:
    clinic = await new_clinic()
    admin = test_env.auth_header(Role.ADMIN)
    default = await inventory.put(
        "/kits/defaults/hands", json=[{"item_id": clinic.cream, "quantity": "2"}], headers=admin
    )
    assert default.status_code == 200, default.text
    kits = (await inventory.get(f"/clinics/{clinic.id}/kits", headers=clinic.manager)).json()["kits"]
    assert kits["hands"] == [{"item_id": clinic.cream, "quantity": "2.000"}]
    assert len(kits["face"]) == 2  # the clinic's own

    for body, status in (
        ([{"item_id": clinic.cream, "quantity": "0"}], 422),
        ([{"item_id": clinic.cream, "quantity": "1"}, {"item_id": clinic.cream, "quantity": "2"}], 422),
        ([{"item_id": str(uuid.uuid4()), "quantity": "1"}], 404),
    ):
        response = await inventory.put(f"/clinics/{clinic.id}/kits/neck", json=body, headers=clinic.manager)
        assert response.status_code == status, (body, response.text)
    wrong_area = await inventory.put(f"/clinics/{clinic.id}/kits/elbow", json=[], headers=clinic.manager)
    assert wrong_area.status_code == 422
    valid = [{"item_id": clinic.cream, "quantity": "1"}]
    not_admin = await inventory.put("/kits/defaults/face", json=valid, headers=clinic.manager)
    assert not_admin.status_code == 403, "the chain's default kit is the admins'"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("ledger?since=0001-01-01T00:00:00%2B05:00", "since"),
        ("ledger?until=9999-12-31T23:59:59-05:00", "until"),
        ("stock?lot_number=A%00B", "lot_number"),
        ("stock?expiring_before=0001-01-01", "expiring_before"),
    ],
)
async def test_out_of_range_times_and_unprintable_lot_numbers_are_a_clear_422(
    query: str, field: str, inventory: httpx.AsyncClient, new_clinic: NewClinic
) -> None:
    clinic = await new_clinic()
    answer = await inventory.get(f"/clinics/{clinic.id}/{query}", headers=clinic.manager)
    assert answer.status_code == 422, answer.text
    assert field in (answer.json().get("field") or "")


async def test_a_kit_saved_by_several_managers_at_once_answers_each_and_keeps_one_version(
    inventory: httpx.AsyncClient, new_clinic: NewClinic
) -> None:
    clinic = await new_clinic()
    versions = [[{"item_id": clinic.cream, "quantity": str(grams)}] for grams in range(1, 7)]

    answers = await asyncio.gather(
        *(inventory.put(f"/clinics/{clinic.id}/kits/neck", json=kit, headers=clinic.manager) for kit in versions)
    )

    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers if a.status_code != 200]
    neck = (await inventory.get(f"/clinics/{clinic.id}/kits", headers=clinic.manager)).json()["kits"]["neck"]
    assert neck in [[{"item_id": clinic.cream, "quantity": f"{grams}.000"}] for grams in range(1, 7)], neck
