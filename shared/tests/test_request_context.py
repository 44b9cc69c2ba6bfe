"""The request context middleware: a visitor who leaves before their request is read whole is not a
failure of ours (no 500, no unhandled-error count or log line); a real failure still is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Message

from clinic_shared.metrics import HTTP_UNHANDLED
from clinic_shared.web import RequestContextMiddleware

pytestmark = pytest.mark.unit


async def _form(request: Request) -> PlainTextResponse:
    form = await request.form()
    if form.get("fail"):
        raise RuntimeError("a fault of ours")
    return PlainTextResponse("read")


def _scope() -> dict[str, Any]:
    return {
        "type": "http", "method": "POST", "path": "/form", "raw_path": b"/form", "query_string": b"",
        "headers": [(b"content-type", b"application/x-www-form-urlencoded")], "http_version": "1.1",
        "scheme": "http", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5000), "root_path": "",
    }  # fmt: skip


def _unhandled() -> float:
    return HTTP_UNHANDLED.labels("probe")._value.get()


async def _call(messages: list[Message]) -> list[Message]:
    # As build_app stacks it: Starlette's own 500 answer outside, the route inside.
    app = Starlette(
        routes=[Route("/form", _form, methods=["POST"])],
        middleware=[Middleware(RequestContextMiddleware, service="probe")],
    )
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await app(_scope(), receive, send)
    return sent


async def test_a_visitor_who_leaves_mid_request_is_not_an_unhandled_error(caplog: pytest.LogCaptureFixture) -> None:
    before = _unhandled()
    sent = await _call([{"type": "http.request", "body": b"day=", "more_body": True}, {"type": "http.disconnect"}])
    assert sent == []  # nobody to answer
    assert _unhandled() == before
    assert "http_unhandled_error" not in caplog.text


async def test_a_fault_of_ours_is_still_counted_and_raised(expect_unhandled_errors: Callable[[int], None]) -> None:
    expect_unhandled_errors(1)
    before = _unhandled()
    with pytest.raises(RuntimeError):
        await _call([{"type": "http.request", "body": b"fail=1", "more_body": False}])
    assert _unhandled() == before + 1


async def test_a_whole_request_is_answered() -> None:
    sent = await _call([{"type": "http.request", "body": b"day=1", "more_body": False}])
    assert sent[0]["status"] == 200
