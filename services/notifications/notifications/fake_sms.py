"""A fake SMS provider speaking our protocol (see adapters/sms.py), for tests and the local demo, where
`scripts/start` runs it as `notifications-fake-sms` on 127.0.0.1:8190. It keeps what it accepted in
memory, to be read back from `GET /v1/messages`.

Its answers can be scripted, to rehearse a provider's bad days: `POST /control` with
`{"mode": "429", "times": 2}` makes the next two messages answer 429, whatever they are; then it
answers normally again. Modes: "ok", "429", "500", "timeout" (no answer for 30 s, longer than any
client waits, then 504) and "invalid" (422, as for a refused number). An invalid number or an empty
text is refused before the script is consulted, as a real provider validates first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import httpx
import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, SecretStr

from notifications.adapters.sms import SmsProvider, valid_phone

Mode = Literal["ok", "429", "500", "timeout", "invalid"]
UNANSWERED_S = 30.0
SCRIPTED = {"429": (429, "rate_limited"), "500": (500, "provider_error"), "invalid": (422, "invalid_number")}


class OutgoingText(BaseModel):
    to: str
    body: str
    reference: str


class Script(BaseModel):
    mode: Mode
    times: int = Field(default=1, ge=1, le=1000)


@dataclass
class Received:
    """What the fake accepted, and which id it gave each idempotency key."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    ids_by_key: dict[str, str] = field(default_factory=dict)
    numbering: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def accept(self, text: OutgoingText, *, idempotency_key: str | None) -> str:
        if idempotency_key is not None and idempotency_key in self.ids_by_key:
            return self.ids_by_key[idempotency_key]
        provider_message_id = f"fake-{next(self.numbering)}"
        self.messages.append(
            {"id": provider_message_id, "to": text.to, "body": text.body, "reference": text.reference,
             "received_at": datetime.now(UTC).isoformat()}
        )  # fmt: skip
        if idempotency_key is not None:
            self.ids_by_key[idempotency_key] = provider_message_id
        return provider_message_id

    def clear(self) -> None:
        self.messages.clear()
        self.ids_by_key.clear()
        self.numbering = itertools.count(1)


def create_app(api_key: str | None = None) -> FastAPI:
    """The fake provider; with `api_key`, a message sent with any other key is answered 401."""
    app = FastAPI(title="Fake SMS provider", docs_url=None, redoc_url=None)
    script: deque[Mode] = deque()
    received = Received()

    @app.post("/v1/messages")
    async def send_text(
        text: OutgoingText,
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        if api_key is not None and not secrets.compare_digest(authorization or "", f"Bearer {api_key}"):
            return _error(401, "unauthorized")
        if not valid_phone(text.to):
            return _error(422, "invalid_number")
        if not text.body.strip():
            return _error(422, "empty_body")
        mode = script.popleft() if script else "ok"
        if mode == "timeout":
            await _wait_out(request)
            return _error(504, "timeout")
        if mode != "ok":
            return _error(*SCRIPTED[mode])
        return JSONResponse({"id": received.accept(text, idempotency_key=idempotency_key)})

    @app.get("/v1/messages")
    async def list_texts() -> list[dict[str, Any]]:
        return received.messages

    @app.delete("/v1/messages", status_code=204)
    async def clear_texts() -> None:
        received.clear()

    @app.post("/control", status_code=204)
    async def add_to_script(step: Script) -> None:
        script.extend([step.mode] * step.times)

    @app.delete("/control", status_code=204)
    async def clear_script() -> None:
        script.clear()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "fake-sms"}

    return app


async def _wait_out(request: Request) -> None:
    # Ends early when the client gives up, so that a test's server can shut down without waiting 30 s.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(UNANSWERED_S):
            while (await request.receive())["type"] != "http.disconnect":
                pass


def _error(status: int, code: str) -> JSONResponse:
    return JSONResponse({"error": code}, status_code=status)


@dataclass(frozen=True)
class FakeProvider:
    name: str
    url: str
    api_key: str

    def provider(self, *, api_key: str | None = None) -> SmsProvider:
        return SmsProvider(name=self.name, base_url=self.url, api_key=SecretStr(api_key or self.api_key))

    async def script(self, mode: str, *, times: int = 1) -> None:
        async with httpx.AsyncClient(base_url=self.url) as client:
            (await client.post("/control", json={"mode": mode, "times": times})).raise_for_status()

    async def received(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.url) as client:
            answer = await client.get("/v1/messages")
        answer.raise_for_status()
        received: list[dict[str, Any]] = answer.json()
        return received

    async def reset(self) -> None:
        async with httpx.AsyncClient(base_url=self.url) as client:
            (await client.delete("/control")).raise_for_status()
            (await client.delete("/v1/messages")).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="notifications-fake-sms", description="A fake SMS provider for tests and the local demo."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8190)
    parser.add_argument("--api-key", default=None, help="when set, messages sent with another key are answered 401")
    arguments = parser.parse_args()
    uvicorn.run(create_app(arguments.api_key), host=arguments.host, port=arguments.port)
