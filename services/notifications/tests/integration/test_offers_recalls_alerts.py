"""Waitlist offers, rejections, recall notices and managers' supply alerts; the delivery record per
patient, a clinic's statistics, and old messages pruned."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from clinic_shared import manage_links
from clinic_shared.auth import Role
from clinic_shared.db import create_session_factory
from clinic_shared.events import catalogue
from clinic_shared.testing.plugin import TestEnvironment
from notifications.service import retention
from notifications.settings import NotificationsSettings

pytestmark = pytest.mark.integration

NewVisit = Callable[..., Awaitable[Any]]
Deliver = Callable[..., Awaitable[None]]
Send = Callable[..., Awaitable[None]]
NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)


def _plain(mail: Any) -> str:
    return str(mail.get_body(preferencelist=("plain",)).get_content())


def _offer(visit: Any, *, expires_in: timedelta = timedelta(hours=2)) -> catalogue.WaitlistOfferMade:
    return catalogue.WaitlistOfferMade(
        offer_id=uuid.uuid4(), waitlist_entry_id=uuid.uuid4(), patient_id=visit.patient_id, clinic_id=visit.clinic_id,
        treatment_id=uuid.uuid4(), areas=["face"], starts_at=visit.starts_at,
        ends_at=visit.starts_at + timedelta(minutes=60), expires_at=NOW + expires_in,
    )  # fmt: skip


async def test_a_waitlist_offer_goes_at_once_with_its_link_and_not_after_it_lapsed(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, settings: NotificationsSettings
) -> None:
    waiting, lapsed = await new_visit(), await new_visit()
    offer = _offer(waiting, expires_in=timedelta(hours=5))
    await deliver(offer, at=NOW)
    await deliver(_offer(lapsed, expires_in=timedelta(hours=2)), at=NOW)
    await deliver(
        catalogue.WaitlistOfferExpired(
            offer_id=uuid.uuid4(), waitlist_entry_id=uuid.uuid4(), patient_id=lapsed.patient_id,
            clinic_id=lapsed.clinic_id,
        ),
        at=NOW,
    )  # an unrelated offer's lapse changes nothing  # fmt: skip
    await send(NOW + timedelta(hours=3))  # the sender was down until after the second offer lapsed
    await send(NOW)

    assert inbox.to(lapsed.email) == []
    [mail] = inbox.to(waiting.email)
    body = _plain(mail)
    assert "Tuesday 2 March 2027, 10:00" in body
    assert "18:00 on Monday 1 February" in body, "held until, in the clinic's time"
    [link] = re.findall(r"http://\S+/waitlist/\S+", body)
    grant = manage_links.verify_waitlist(settings.manage_link_secret.get_secret_value(), link.split("token=")[1])
    assert (grant.entry_id, grant.patient_id) == (offer.waitlist_entry_id, waiting.patient_id)


async def test_a_rejected_visit_gets_an_apology_and_a_way_to_pick_another_time(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any
) -> None:
    visit = await new_visit()
    await deliver(visit.requested(), at=NOW)
    rejected = catalogue.AppointmentRejected(
        appointment_id=visit.appointment_id, clinic_id=visit.clinic_id, patient_id=visit.patient_id,
        reason="supplies_unavailable",
    )  # fmt: skip
    await deliver(rejected, at=NOW)
    await deliver(rejected, at=NOW)
    await send(NOW)

    [mail] = inbox.to(visit.email)
    assert "sorry" in _plain(mail).lower()
    assert f"/clinics/{visit.clinic_id}" in _plain(mail)


async def test_a_recall_tells_the_patients_who_can_be_reached_and_gives_managers_the_count_to_phone(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine,
    notifications: httpx.AsyncClient, test_env: TestEnvironment,
) -> None:  # fmt: skip
    reachable = await new_visit()
    no_consent = await new_visit(clinic_id=reachable.clinic_id, care_consent=False)
    for visit in (reachable, no_consent):
        await deliver(visit.confirmed(), at=NOW)
        await deliver(
            visit.completed(),
            at=visit.starts_at,
        )  # fmt: skip
    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[reachable.clinic_id])
    await notifications.put(
        f"/clinics/{reachable.clinic_id}/alert-recipients", json={"emails": ["Manager@Clinic.example"]},
        headers=manager,
    )  # fmt: skip
    recall = catalogue.LotRecalled(
        recall_id=uuid.uuid4(), item_id=uuid.uuid4(), item_name="Nano cartridge, 36 pins", lot_number="L2407A",
        affected_appointments=[
            catalogue.AffectedAppointment(appointment_id=v.appointment_id, clinic_id=v.clinic_id)
            for v in (reachable, no_consent)
        ] + [catalogue.AffectedAppointment(appointment_id=uuid.uuid4(), clinic_id=reachable.clinic_id)],
    )  # fmt: skip
    at = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    await deliver(recall, at=at)
    await deliver(recall, at=at)
    await send(at)

    [notice] = [m for m in inbox.to(reachable.email) if m["Subject"].startswith("Information about supplies")]
    assert "Tuesday 2 March 2027" in _plain(notice)
    assert "L2407A" not in _plain(notice), "the patient needs the facts, not the lot number"
    assert inbox.to(no_consent.email) == []
    [alert] = inbox.to("manager@clinic.example")
    body = _plain(alert)
    assert "L2407A" in body
    assert "Completed visits treated with this lot: 3" in body
    assert "Patients sent a recall notice: 1" in body
    assert "Patients who could not be reached by message: 2" in body
    assert reachable.email not in body
    assert "Sam Patient" not in body, "names stay in booking"


async def test_supply_alerts_reach_the_clinics_alert_recipients_or_else_operations(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, notifications: httpx.AsyncClient,
    test_env: TestEnvironment, settings: NotificationsSettings,
) -> None:  # fmt: skip
    clinic = (await new_visit()).clinic_id
    low = catalogue.StockLow(
        clinic_id=clinic, item_id=uuid.uuid4(), item_name="Nano cartridge, 36 pins", available=Decimal("14.000"),
        reorder_point=Decimal("20"), unit="each",
    )  # fmt: skip
    await deliver(low, at=NOW)
    await send(datetime(2027, 2, 1, 23, 0, tzinfo=UTC))  # at night: managers' alerts do not wait
    [to_operations] = inbox.to(settings.operations_email)
    assert "14" in _plain(to_operations)
    assert "14.000" not in _plain(to_operations)
    assert f"/clinics/{clinic}/stock" in _plain(to_operations)

    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[clinic])
    path = f"/clinics/{clinic}/alert-recipients"
    assert (await notifications.put(path, json={"emails": ["no-at-sign"]}, headers=manager)).status_code == 422
    both = {"emails": ["stock@clinic.example", "lead@clinic.example"]}
    assert (await notifications.put(path, json=both, headers=manager)).json()["falls_back_to_operations"] is False
    await deliver(
        catalogue.ShortfallProjected(
            clinic_id=clinic, item_id=uuid.uuid4(), item_name="Numbing cream 5%", on_date=date(2027, 3, 4),
            required=Decimal("12"), available=Decimal("7"), unit="gram",
        ),
        at=NOW,
    )  # fmt: skip
    await deliver(
        catalogue.LotExpiring(
            clinic_id=clinic, item_id=uuid.uuid4(), item_name="Numbing cream 5%", lot_number="C-88",
            expires_on=date(2027, 3, 31), on_hand=Decimal("40"),
        ),
        at=NOW,
    )  # fmt: skip
    await send(NOW)

    shortfall, expiring = inbox.to("lead@clinic.example, stock@clinic.example")
    assert "Thursday 4 March 2027" in _plain(shortfall)
    assert "31 March 2027" in _plain(expiring)
    assert "C-88" in _plain(expiring)
    assert len(inbox.to(settings.operations_email)) == 1


async def test_staff_see_a_patients_messages_at_their_clinics_and_managers_their_clinics_statistics(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, notifications: httpx.AsyncClient,
    test_env: TestEnvironment,
) -> None:  # fmt: skip
    here = await new_visit()
    there = await new_visit(patient_id=here.patient_id)
    refused = await new_visit(clinic_id=here.clinic_id, address="refused@example.org")
    for visit in (here, there, refused):
        await deliver(visit.confirmed(), at=NOW)
    await send(NOW)
    desk = test_env.auth_header(Role.FRONT_DESK, clinics=[here.clinic_id])
    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[here.clinic_id])

    seen = (await notifications.get(f"/patients/{here.patient_id}/messages", headers=desk)).json()
    assert {m["clinic_id"] for m in seen} == {str(here.clinic_id)}, "not the other clinic's"
    unknown = await notifications.get(f"/patients/{uuid.uuid4()}/messages", headers=desk)
    assert unknown.status_code == 403, "an unknown patient looks like another clinic's: no way to probe"
    assert (await notifications.get(f"/patients/{there.patient_id}/messages", headers=desk)).json() == seen
    stats = await notifications.get(
        f"/clinics/{here.clinic_id}/delivery-stats", headers=manager,
        params={"since": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                "until": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
    )  # fmt: skip
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["by_status"] == {"sent": 1, "failed_permanent": 1, "queued": 2}
    assert body["delivery_rate"] == 0.5
    assert (await notifications.get(f"/clinics/{here.clinic_id}/delivery-stats", headers=desk)).status_code == 403
    inverted = await notifications.get(
        f"/clinics/{here.clinic_id}/delivery-stats", headers=manager,
        params={"since": "2027-01-02T00:00:00Z", "until": "2027-01-01T00:00:00Z"},
    )  # fmt: skip
    assert inverted.status_code == 422


async def test_old_finished_messages_are_pruned_with_their_attempts_and_waiting_ones_kept(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, engine: AsyncEngine,
    settings: NotificationsSettings,
) -> None:  # fmt: skip
    visit = await new_visit()
    await deliver(visit.confirmed(), at=NOW)
    await send(NOW)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE messages SET created_at = now() - interval '500 days', due_at = now() - interval '500 days'"
                 " WHERE appointment_id = :id"),
            {"id": visit.appointment_id},
        )  # fmt: skip

    assert await retention.prune(create_session_factory(engine), settings) >= 1

    async with engine.connect() as connection:
        left = dict(
            (
                await connection.execute(
                    text("SELECT kind, status FROM messages WHERE appointment_id = :id"), {"id": visit.appointment_id}
                )
            ).all()
        )
    assert left == {"reminder": "queued"}, "the sent confirmation went; the reminder still to send stays"
