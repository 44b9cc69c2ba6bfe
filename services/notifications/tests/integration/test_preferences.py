"""The patient's own choices through the signed links in their messages: the preferences API and page,
the unsubscribe page and the mail client's one-click unsubscribe; the sender obeys them per channel and
category."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from clinic_shared import manage_links
from clinic_shared.events import catalogue
from notifications.fake_sms import FakeProvider
from notifications.settings import NotificationsSettings

pytestmark = pytest.mark.integration

NewVisit = Callable[..., Awaitable[Any]]
Deliver = Callable[..., Awaitable[None]]
Send = Callable[..., Awaitable[None]]
NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)


def _link(mail: Any, path: str) -> str:
    body = mail.get_body(preferencelist=("plain",)).get_content()
    [url] = re.findall(rf"http://\S+{re.escape(path)}\?token=\S+", body)
    parts = urlsplit(url)
    return f"{_here(parts.path)}?{parts.query}"


def _here(path: str) -> str:
    """A link's path as this service sees it: the gateway serves it under /api/notifications."""
    assert path.startswith("/api/notifications/"), path
    return path.removeprefix("/api/notifications")


async def _confirmed_and_sent(new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, **kw: Any) -> Any:
    visit = await new_visit(**kw)
    await deliver(visit.confirmed(), at=NOW)
    await send(NOW)
    return visit


async def test_the_preferences_link_reads_and_changes_choices_per_channel_and_the_sender_obeys(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, primary: FakeProvider,
    notifications: httpx.AsyncClient, engine: AsyncEngine,
) -> None:  # fmt: skip
    number = f"+3162{uuid.uuid4().int % 10**7:07d}"  # the sender also sends other tests' texts due then
    visit = await _confirmed_and_sent(new_visit, deliver, send, inbox, phone=number)
    [confirmation] = inbox.to(visit.email)
    token = _link(confirmation, "/p/preferences").split("token=")[1]
    link = {"Authorization": f"Bearer {token}"}

    assert (await notifications.get("/preferences", headers=link)).json() == {
        "email": {"care": True, "marketing": False},
        "sms": {"care": True, "marketing": False},
    }
    changed = await notifications.put("/preferences", json={"email": {"care": False}}, headers=link)
    assert changed.json()["email"] == {"care": False, "marketing": False}
    assert (await notifications.put("/preferences", json={"fax": {}}, headers=link)).status_code == 422
    assert (await notifications.get("/preferences", headers={"Authorization": "Bearer nope"})).status_code == 401

    await send(datetime(2027, 3, 1, 9, 0, 1, tzinfo=UTC))  # the reminder's time
    [reminder] = [sms for sms in await primary.received() if sms["to"] == number]
    assert "Canal District Skin Clinic" in reminder["body"], "by text, since e-mail is off for visit messages"
    assert len(inbox.to(visit.email)) == 1

    await deliver(catalogue.PatientErased(patient_id=visit.patient_id, erased_at=NOW), at=NOW)
    assert (await notifications.get("/preferences", headers=link)).status_code == 404
    async with engine.connect() as connection:
        kept = await connection.scalar(
            text("SELECT count(*) FROM preferences WHERE patient_id = :id"), {"id": visit.patient_id}
        )
    assert kept == 0, "an erased patient's choices go with them"


async def test_the_preferences_page_shows_and_saves_the_choices(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, notifications: httpx.AsyncClient
) -> None:
    visit = await _confirmed_and_sent(new_visit, deliver, send, inbox, marketing_consent=True)
    page_path = _link(inbox.to(visit.email)[0], "/p/preferences")

    page = await notifications.get(page_path)
    assert page.status_code == 200
    assert 'name="email_care" checked' in page.text
    assert 'name="email_marketing" checked' in page.text
    assert "sms_care" not in page.text, "no number on file: no text choices"
    saved = await notifications.post(
        page_path, content="email_care=on", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert "Saved" in saved.text
    assert 'name="email_marketing" checked' not in saved.text
    broken = await notifications.get(page_path[:-5])
    assert (broken.status_code, "does not work" in broken.text) == (401, True)


async def test_unsubscribing_from_suggestions_stops_them_and_only_them(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, notifications: httpx.AsyncClient,
    engine: AsyncEngine,
) -> None:  # fmt: skip
    first = await new_visit(marketing_consent=True)
    window = catalogue.NextSession(session_number=2, first_day=date(2027, 3, 30), last_day=date(2027, 4, 13))
    done_at = datetime(2027, 3, 2, 10, 30, tzinfo=UTC)
    await deliver(first.confirmed(), at=NOW)
    await deliver(
        first.completed(done_at, window),
        at=done_at,
    )  # fmt: skip
    await send(datetime(2027, 3, 23, 9, 0, tzinfo=UTC))
    [suggestion] = [m for m in inbox.to(first.email) if "session" in m["Subject"].lower()]
    one_click = suggestion["List-Unsubscribe"].strip("<>")
    page_path = _link(suggestion, "/p/unsubscribe")
    assert _here(urlsplit(one_click).path) == "/p/unsubscribe"

    looked = await notifications.get(page_path)  # a link scanner opening the page changes nothing
    assert "Stop these messages" in looked.text
    assert (await notifications.get("/preferences", headers={"Authorization": "Bearer " + _token(inbox, first)})
            ).json()["email"]["marketing"] is True  # fmt: skip
    clicked = await notifications.post(
        f"{_here(urlsplit(one_click).path)}?{urlsplit(one_click).query}", content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert clicked.status_code == 200
    choices = await notifications.get("/preferences", headers={"Authorization": "Bearer " + _token(inbox, first)})
    assert choices.json()["email"] == {"care": True, "marketing": False}, "visit messages still come"

    second = await new_visit(clinic_id=first.clinic_id, patient_id=first.patient_id)
    await deliver(second.confirmed(), at=NOW)
    await send(NOW)
    await deliver(
        second.completed(done_at, window),
        at=done_at,
    )  # fmt: skip
    await send(datetime(2027, 3, 23, 9, 0, tzinfo=UTC))
    async with engine.connect() as connection:
        statuses = dict(
            (
                await connection.execute(
                    text("SELECT kind, status FROM messages WHERE appointment_id = :id"), {"id": second.appointment_id}
                )
            ).all()
        )
    assert statuses["next_session"] == "cancelled"
    assert statuses["confirmation"] == "sent"


def _token(inbox: Any, visit: Any) -> str:
    return _link(inbox.to(visit.email)[0], "/p/preferences").split("token=")[1]


async def test_a_visits_manage_link_opens_its_patients_choices_and_a_waitlist_link_does_not(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, notifications: httpx.AsyncClient,
    settings: NotificationsSettings,
) -> None:  # fmt: skip
    visit = await _confirmed_and_sent(new_visit, deliver, send, inbox, marketing_consent=True)
    secret = settings.manage_link_secret.get_secret_value()
    manage = manage_links.issue(
        secret, appointment_id=visit.appointment_id, patient_id=visit.patient_id,
        visit_ends_at=visit.starts_at + timedelta(hours=1),
    )  # fmt: skip
    waitlist = manage_links.issue_waitlist(
        secret, entry_id=uuid.uuid4(), patient_id=visit.patient_id, last_day=visit.starts_at.date()
    )

    mine = await notifications.get("/preferences", headers={"Authorization": f"Bearer {manage}"})
    changed = await notifications.put(
        "/preferences", json={"email": {"marketing": False}}, headers={"Authorization": f"Bearer {manage}"}
    )
    refused = await notifications.get("/preferences", headers={"Authorization": f"Bearer {waitlist}"})

    assert mine.json()["email"] == {"care": True, "marketing": True}
    assert changed.json()["email"] == {"care": True, "marketing": False}
    assert refused.status_code == 401
