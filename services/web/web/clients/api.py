"""Calling the platform's APIs: one httpx client per API, with a timeout, the visitor's address and the
request's correlation id passed on, and retries only where a retry cannot do a thing twice (reads, and
writes that carry an Idempotency-Key).

An answer the page can act on (2xx, and 4xx with the API's error body) comes back as `Answer`; an API
that is down, slow or failing raises `ApiUnavailable`, which the pages turn into "try again or call"."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import httpx

from clinic_shared import context
from clinic_shared.logging import get_logger

log = get_logger(__name__)

RETRYABLE_STATUS = frozenset({502, 503, 504})


class UnexpectedAnswer(RuntimeError):
    pass


class ApiUnavailable(RuntimeError):
    def __init__(self, api: str, reason: str) -> None:
        super().__init__(f"{api}: {reason}")
        self.api = api


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None

    def expected(self) -> Any:
        """The body of a 2xx. Anything else where the page expects success is a fault of ours or of
        the API, not of the visitor, and fails the page."""
        if not self.ok:
            raise UnexpectedAnswer(f"HTTP {self.status} ({self.code})")
        return self.body

    def field_errors(self) -> dict[str, str]:
        """The API's 422 as {field: message}, fields named as in the request body (`patient.email`)."""
        if not isinstance(self.body, dict):
            return {}
        errors = self.body.get("errors") or [{"field": self.body.get("field"), "message": self.body.get("message")}]
        found = {}
        for error in errors:
            name = str(error.get("field") or "")
            found[name.removeprefix("body.")] = str(error.get("message") or "")
        return found


class Api:
    def __init__(
        self, name: str, base_url: str, *, timeout_s: float, read_retries: int, reference_ttl_s: float = 0.0
    ) -> None:
        self.name = name
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s)
        self._read_retries = read_retries
        self._reference = _Remembered(reference_ttl_s)

    async def close(self) -> None:
        await self._client.aclose()

    async def get(self, path: str, *, token: str | None = None, visitor: str | None = None, **params: Any) -> Answer:
        return await self._send("GET", path, token=token, visitor=visitor, params=params, retries=self._read_retries)

    async def reference(self, path: str, *, visitor: str | None = None, **params: Any) -> Answer:
        """A public read of what changes seldom and is the same for every visitor (a clinic, its
        treatments, practitioners and screening questions): a 200 is answered from memory for
        `reference_ttl_s`, so a patient's every step does not ask for it again. Booking checks every
        choice made on it when the patient holds and books, so an answer that is a little old can
        cost an error shown in place, never a wrong booking."""
        key = (path, tuple(sorted((name, str(value)) for name, value in params.items())))
        if (remembered := self._reference.get(key)) is not None:
            return remembered
        answer = await self.get(path, visitor=visitor, **params)
        if answer.status == 200:
            self._reference.put(key, answer)
        return answer

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        token: str | None = None,
        visitor: str | None = None,
        idempotency_key: str | None = None,
    ) -> Answer:
        """A write: tried again only with an Idempotency-Key, with which the API answers a repeat the same."""
        return await self._send(
            method, path, token=token, visitor=visitor, json=json, idempotency_key=idempotency_key,
            retries=self._read_retries if idempotency_key else 0,
        )  # fmt: skip

    async def _send(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        visitor: str | None,
        retries: int,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> Answer:
        headers = {"Accept": "application/json"}
        if (correlation := context.correlation_id()) is not None:
            headers["X-Request-ID"] = correlation
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if visitor:
            headers["X-Forwarded-For"] = visitor  # the API keys its rate limits on the visitor, not on us
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        for attempt in range(retries + 1):
            try:
                response = await self._client.request(
                    method, path, params={k: v for k, v in (params or {}).items() if v is not None}, json=json,
                    headers=headers,
                )  # fmt: skip
            except httpx.TransportError as error:
                reason = type(error).__name__
            else:
                if response.status_code not in RETRYABLE_STATUS and response.status_code < 500:
                    body = response.json() if response.content else None
                    return Answer(status=response.status_code, body=body, headers=dict(response.headers))
                reason = f"HTTP {response.status_code}"
            log.warning("api_call_failed", api=self.name, method=method, reason=reason, attempt=attempt + 1)
            if attempt < retries:
                await asyncio.sleep(0.1 * 2**attempt)
        raise ApiUnavailable(self.name, reason)


class _Remembered:
    """Answers kept for `ttl_s` seconds of the event loop's clock, at most `size` of them (the oldest go
    first). A ttl of 0 keeps nothing."""

    def __init__(self, ttl_s: float, size: int = 2048) -> None:
        self._ttl_s, self._size = ttl_s, size
        self._kept: dict[Hashable, tuple[float, Answer]] = {}

    def get(self, key: Hashable) -> Answer | None:
        kept = self._kept.get(key)
        if kept is None:
            return None
        if kept[0] <= asyncio.get_running_loop().time():
            del self._kept[key]
            return None
        return kept[1]

    def put(self, key: Hashable, answer: Answer) -> None:
        if self._ttl_s <= 0:
            return
        self._kept.pop(key, None)
        while len(self._kept) >= self._size:
            del self._kept[next(iter(self._kept))]
        self._kept[key] = (asyncio.get_running_loop().time() + self._ttl_s, answer)
