"""Clinic templates through the API: refused at save when they would fail at send, versioned, used by
the sender, reset to the default; previews with sample data; only managers of the clinic."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from clinic_shared.auth import Role
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

NewVisit = Callable[..., Awaitable[Any]]
Deliver = Callable[..., Awaitable[None]]
Send = Callable[..., Awaitable[None]]
NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)
OURS = (
    "{% block subject %}See you on {{ local_date }}, {{ name }}{% endblock %}"
    "{% block body %}Dear {{ name }}, we are expecting you at {{ local_time }}. {{ manage_url }}{% endblock %}"
)


async def test_a_clinic_saves_its_own_confirmation_the_sender_uses_it_and_it_can_go_back_to_the_default(
    new_visit: NewVisit, deliver: Deliver, send: Send, inbox: Any, notifications: httpx.AsyncClient,
    test_env: TestEnvironment,
) -> None:  # fmt: skip
    first = await new_visit()
    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[first.clinic_id])
    path = f"/clinics/{first.clinic_id}/templates/confirmation/email"

    default = (await notifications.get(path, headers=manager)).json()
    saved = await notifications.put(path, json={"source": OURS}, headers=manager)
    assert saved.status_code == 200, saved.text
    assert (default["version"], saved.json()["version"], saved.json()["source"]) == (None, 1, OURS)

    await deliver(first.confirmed(), at=NOW)
    await send(NOW)
    [mail] = inbox.to(first.email)
    assert mail["Subject"] == "See you on Tuesday 2 March, Sam Patient"
    assert "we are expecting you at 10:00" in mail.get_body(preferencelist=("plain",)).get_content()
    assert "we are expecting you at 10:00" in mail.get_body(preferencelist=("html",)).get_content()

    reset = await notifications.delete(path, headers=manager)
    assert reset.json()["version"] is None
    assert [v["uses_default"] for v in reset.json()["history"]] == [True, False], "newest first, nothing lost"
    second = await new_visit(clinic_id=first.clinic_id)
    await deliver(second.confirmed(), at=NOW)
    await send(NOW)
    [mail] = inbox.to(second.email)
    assert "is confirmed" in mail["Subject"], "the chain's default again"


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("{% block subject %}x{% endblock %}{% block body %}{{ name {% endblock %}", "does not parse"),
        ("{% block body %}Hello{% endblock %}", "missing: subject"),
        ("{% block subject %}x{% endblock %}{% block body %}{{ screening_answers }}{% endblock %}", "unknown"),
    ],
)
async def test_a_template_that_would_fail_at_send_is_refused_at_save(
    source: str, why: str, new_visit: NewVisit, notifications: httpx.AsyncClient, test_env: TestEnvironment
) -> None:
    visit = await new_visit()
    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[visit.clinic_id])
    path = f"/clinics/{visit.clinic_id}/templates/reminder/email"

    refused = await notifications.put(path, json={"source": source}, headers=manager)

    assert refused.status_code == 422
    assert (refused.json()["code"], refused.json()["field"]) == ("template_refused", "source")
    assert why in refused.json()["message"]
    assert (await notifications.get(path, headers=manager)).json()["history"] == [], "nothing stored"


async def test_only_the_clinics_managers_and_admins_edit_its_templates(
    new_visit: NewVisit, notifications: httpx.AsyncClient, test_env: TestEnvironment
) -> None:
    visit = await new_visit()
    path = f"/clinics/{visit.clinic_id}/templates/reminder/sms"
    body = {"source": "{% block body %}{{ clinic_name }}: see you {{ local_date }}.{% endblock %}"}
    other = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[uuid.uuid4()])
    desk = test_env.auth_header(Role.FRONT_DESK, clinics=[visit.clinic_id])
    admin = test_env.auth_header(Role.ADMIN)

    assert (await notifications.put(path, json=body, headers=other)).status_code == 403
    assert (await notifications.put(path, json=body, headers=desk)).status_code == 403
    assert (await notifications.put(path, json=body, headers=admin)).status_code == 200
    unknown_kind = f"/clinics/{visit.clinic_id}/templates/horoscope/sms"
    assert (await notifications.put(unknown_kind, json=body, headers=admin)).json()["code"] == "kind_not_found"
    no_sms = f"/clinics/{visit.clinic_id}/templates/stock_low/sms"
    assert (await notifications.get(no_sms, headers=admin)).status_code == 404
    unknown_clinic = f"/clinics/{uuid.uuid4()}/templates/reminder/sms"
    assert (await notifications.get(unknown_clinic, headers=admin)).status_code == 404


async def test_previews_render_drafts_defaults_and_a_clinics_template_with_sample_data(
    new_visit: NewVisit, notifications: httpx.AsyncClient, test_env: TestEnvironment
) -> None:
    visit = await new_visit()
    manager = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[visit.clinic_id])

    draft = await notifications.post(
        "/templates/preview", json={"kind": "confirmation", "channel": "email", "source": OURS}, headers=manager
    )
    default_sms = await notifications.post(
        "/templates/preview", json={"kind": "aftercare_check", "channel": "sms"}, headers=manager
    )
    broken = await notifications.post(
        "/templates/preview",
        json={"kind": "confirmation", "channel": "email", "source": "{% block subject %}{% endblock %}"},
        headers=manager,
    )
    kinds = await notifications.get("/message-kinds", headers=manager)

    assert draft.json()["subject"] == "See you on Tuesday 2 March, Sam Jansen"
    assert "<p" in draft.json()["html"]
    assert default_sms.json()["html"] is None
    assert "+31 20 555 0120" in default_sms.json()["text"]
    assert (broken.status_code, broken.json()["code"]) == (422, "template_refused")
    assert {k["kind"] for k in kinds.json()} >= {"confirmation", "reminder", "next_session", "lot_recalled"}
    assert next(k for k in kinds.json() if k["kind"] == "next_session")["category"] == "marketing"


async def test_a_manager_of_another_clinic_is_refused_before_the_template_is_looked_at(
    new_visit: NewVisit, notifications: httpx.AsyncClient, test_env: TestEnvironment
) -> None:
    # Checking the template first answered an outsider 422 (it told them the template was wrong) and
    # let them hold a renderer for two seconds per request with a looping one.
    visit = await new_visit()
    outsider = test_env.auth_header(Role.CLINIC_MANAGER, clinics=[uuid.uuid4()])
    looping = (
        "{% block body %}{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}{% endblock %}"
    )

    for body in ({"source": looping}, {"source": "{% block body %}{{ broken {% endblock %}"}, {}):
        answer = await notifications.put(
            f"/clinics/{visit.clinic_id}/templates/reminder/sms", json=body, headers=outsider
        )
        assert (answer.status_code, answer.json()["code"]) == (403, "forbidden"), body
