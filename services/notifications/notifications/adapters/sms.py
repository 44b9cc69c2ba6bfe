"""Text messages through HTTP providers: the one place that talks to them. A primary provider, and a
fallback one that is tried when the primary fails for a reason of its own (down, throttling, a bad key);
a message the provider refuses as such (an invalid number) would be refused by any provider, so the
fallback is not tried then.

The protocol is ours; a provider is wrapped to speak it, and `notifications-fake-sms` speaks it locally:

    POST {base_url}/v1/messages
    Authorization: Bearer <key>
    Idempotency-Key: <reference>
    {"to": "+31612345678", "body": "...", "reference": "<message uuid>"}

    200, 201 or 202 with {"id": "<provider message id>"}: sent.

The reference is the message's id, so trying the same provider again later cannot send the text twice.
How an answer is classified:

- temporary, for that provider: 429, 5xx, timeouts, connection errors, 401/403 (its key is wrong: a
  configuration problem of that provider, not the message's), a success without a usable id, and any
  other answer that is not a 4xx;
- permanent: 400 and 422 (the number or the body is invalid) and every other 4xx.

A success without a usable id counts as temporary although the provider may have sent the text: a
second text by the fallback is better than a reminder lost without a trace.

Errors are short codes ("http 429", "timeout", "ConnectError"), never the number or the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

import httpx
from pydantic import SecretStr

from notifications.settings import NotificationsSettings

SENT = frozenset({200, 201, 202})
# 4xx answers about the provider (its key refused, its rate limit), not about the message.
PROVIDER_PROBLEMS = frozenset({401, 403, 429})
E164 = re.compile(r"\+[1-9]\d{7,14}")
# What people write between the digits of a phone number.
SEPARATORS = re.compile(r"[ ()-]")

Status = Literal["sent", "failed_temporary", "failed_permanent"]


@dataclass(frozen=True)
class SmsProvider:
    name: str  # "primary" or "fallback"; the delivery record names it `sms:<name>`
    base_url: str
    api_key: SecretStr


@dataclass(frozen=True)
class SmsAttempt:
    provider: str
    status: Status
    provider_message_id: str | None
    error: str | None


class SmsSender:
    """Sends through the providers in order, over one shared HTTP client; `aclose` when done."""

    def __init__(
        self,
        providers: Sequence[SmsProvider],
        *,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not providers:
            raise ValueError("at least one SMS provider is needed")
        self._providers = tuple(providers)
        self._client = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    @classmethod
    def from_settings(cls, settings: NotificationsSettings) -> SmsSender:
        providers = [SmsProvider("primary", settings.sms_primary_url, settings.sms_primary_key)]
        if settings.sms_fallback_url:
            if settings.sms_fallback_key is None:
                raise ValueError("sms_fallback_key is required when sms_fallback_url is set")
            providers.append(SmsProvider("fallback", settings.sms_fallback_url, settings.sms_fallback_key))
        return cls(providers, timeout_s=settings.sms_timeout_s)

    async def send(self, *, to: str, body: str, reference: UUID) -> list[SmsAttempt]:
        """Every attempt made, in order: the last one decides the outcome."""
        # A number we cannot read goes as given: the provider's refusal is then the permanent answer.
        number = normalised_phone(to) if valid_phone(to) else to
        attempts: list[SmsAttempt] = []
        for provider in self._providers:
            attempts.append(attempt := await self._send_through(provider, to=number, body=body, reference=reference))
            if attempt.status != "failed_temporary":
                break
        return attempts

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _send_through(self, provider: SmsProvider, *, to: str, body: str, reference: UUID) -> SmsAttempt:
        name = f"sms:{provider.name}"
        try:
            response = await self._client.post(
                f"{provider.base_url.rstrip('/')}/v1/messages",
                json={"to": to, "body": body, "reference": str(reference)},
                headers={
                    "Authorization": f"Bearer {provider.api_key.get_secret_value()}",
                    "Idempotency-Key": str(reference),
                },
            )
        except httpx.TimeoutException:
            return _failed(name, "failed_temporary", error="timeout")
        except httpx.HTTPError as error:
            # The type only: an httpx error's text carries the URL and may carry the request.
            return _failed(name, "failed_temporary", error=type(error).__name__)
        return _classified(name, response)


def _classified(provider: str, response: httpx.Response) -> SmsAttempt:
    code = response.status_code
    if code in SENT:
        if (provider_message_id := _provider_message_id(response)) is None:
            return _failed(provider, "failed_temporary", error=f"http {code} without id")
        return SmsAttempt(provider=provider, status="sent", provider_message_id=provider_message_id, error=None)
    if 400 <= code < 500 and code not in PROVIDER_PROBLEMS:
        return _failed(provider, "failed_permanent", error=f"http {code}")
    return _failed(provider, "failed_temporary", error=f"http {code}")


def _failed(provider: str, status: Status, *, error: str) -> SmsAttempt:
    return SmsAttempt(provider=provider, status=status, provider_message_id=None, error=error)


def _provider_message_id(response: httpx.Response) -> str | None:
    try:
        answer = response.json()
    except ValueError:  # also json.JSONDecodeError and UnicodeDecodeError
        return None
    provider_message_id = answer.get("id") if isinstance(answer, dict) else None
    return provider_message_id if isinstance(provider_message_id, str) and provider_message_id else None


def valid_phone(number: str) -> bool:
    """An E.164 number ("+31612345678"), allowing spaces, dashes and parentheses in between."""
    return E164.fullmatch(SEPARATORS.sub("", number)) is not None


def normalised_phone(number: str) -> str:
    """The number in E.164 without separators; ValueError (without the number) when it is not one."""
    normalised = SEPARATORS.sub("", number)
    if E164.fullmatch(normalised) is None:
        raise ValueError("not an E.164 phone number")
    return normalised
