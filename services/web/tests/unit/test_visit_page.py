"""The visit page in every state a visit can be in, whole and as the block the status poll asks for:
it renders (a block rendered alone sees nothing set outside it), the poll stops once the visit
settles, and the poll that sees it settle brings the changes it now allows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from starlette.requests import Request

from web.pages.rendering import render
from web.service.views import Clinic
from web.service.visits import Visit

pytestmark = pytest.mark.unit

STATUSES = ("requested", "confirmed", "rejected", "cancelled", "checked_in", "completed", "no_show")


def _visit(status: str) -> Visit:
    clinic = Clinic(
        id=uuid.uuid4(), name="Canal Clinic", street="Herengracht 1", city="Amsterdam", postal_code="1015 BS",
        phone="+31 20 555 0100", zone=ZoneInfo("Europe/Amsterdam"), cancellation_cutoff_hours=24, horizon_days=60,
    )  # fmt: skip
    starts_at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    return Visit(
        id=uuid.uuid4(), status=status, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1),
        areas=("face",), clinic=clinic, treatment=None, practitioner=None, course_id=None, session_number=None,
    )  # fmt: skip


def _request(*, polled: bool) -> Request:
    headers = [(b"hx-request", b"true"), (b"hx-target", b"status")] if polled else []
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "query_string": b""})


def _page(status: str, *, polled: bool) -> str:
    context = {"visit": _visit(status), "course": None, "notice": None}
    return bytes(render(_request(polled=polled), "manage/visit.html", context).body).decode()


@pytest.mark.parametrize("status", STATUSES)
def test_every_state_renders_whole_and_as_the_polled_block(status: str) -> None:
    whole = _page(status, polled=False)
    polled = _page(status, polled=True)

    assert "<html" in whole
    assert "<html" not in polled
    assert polled.lstrip().startswith('<div id="status"')
    assert ('hx-trigger="every 2s"' in polled) is (status == "requested"), "only a visit still waiting is polled"


def test_the_poll_that_sees_a_visit_confirmed_brings_its_changes() -> None:
    waiting = _page("requested", polled=True)
    confirmed = _page("confirmed", polled=True)

    assert "hx-swap-oob" not in waiting
    assert '<div id="changes" hx-swap-oob="true">' in confirmed
    assert "Move to another time" in confirmed
    assert "Cancel the visit" in confirmed


def test_a_rejected_visit_points_to_the_clinics_times() -> None:
    polled = _page("rejected", polled=True)

    assert "Choose another time" in polled
    assert "Move to another time" not in polled
