"""Signed links for a patient's message choices: one that opens their preferences, and one-click
unsubscribe links scoped to one channel and category (RFC 8058). Signed with the patient-link secret
that booking and notifications share, under audiences of their own, so neither passes for a manage
link or a waitlist link, nor the other way round."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID

import jwt

from clinic_shared.auth import NotAuthenticated

PREFERENCES_AUDIENCE = "clinic-preferences-link"
UNSUBSCRIBE_AUDIENCE = "clinic-unsubscribe-link"
ISSUER = "notifications"
# Old messages' links keep working for a year: unsubscribing must not fail because a mail is old.
VALID_FOR = timedelta(days=365)

Channel = Literal["email", "sms"]
Category = Literal["care", "marketing"]


@dataclass(frozen=True)
class Unsubscribe:
    patient_id: UUID
    channel: Channel
    category: Category


def preferences_token(secret: str, *, patient_id: UUID, now: datetime | None = None) -> str:
    issued = now or datetime.now(UTC)
    claims = {"iss": ISSUER, "aud": PREFERENCES_AUDIENCE, "sub": str(patient_id), "iat": issued,
              "exp": issued + VALID_FOR}  # fmt: skip
    return jwt.encode(claims, secret, algorithm="HS256")


def unsubscribe_token(secret: str, *, patient_id: UUID, channel: Channel, category: Category,
                      now: datetime | None = None) -> str:  # fmt: skip
    issued = now or datetime.now(UTC)
    claims = {"iss": ISSUER, "aud": UNSUBSCRIBE_AUDIENCE, "sub": str(patient_id), "channel": channel,
              "category": category, "iat": issued, "exp": issued + VALID_FOR}  # fmt: skip
    return jwt.encode(claims, secret, algorithm="HS256")


def _claims(secret: str, token: str, audience: str, required: list[str]) -> dict[str, object]:
    try:
        claims: dict[str, object] = jwt.decode(
            token, secret, algorithms=["HS256"], audience=audience, issuer=ISSUER,
            options={"require": ["exp", "sub", *required]},
        )  # fmt: skip
        UUID(str(claims["sub"]))
        return claims
    except (jwt.PyJWTError, ValueError) as error:
        raise NotAuthenticated(f"invalid link: {type(error).__name__}") from error


def verify_preferences(secret: str, token: str) -> UUID:
    return UUID(str(_claims(secret, token, PREFERENCES_AUDIENCE, [])["sub"]))


def verify_unsubscribe(secret: str, token: str) -> Unsubscribe:
    claims = _claims(secret, token, UNSUBSCRIBE_AUDIENCE, ["channel", "category"])
    if claims["channel"] not in ("email", "sms") or claims["category"] not in ("care", "marketing"):
        raise NotAuthenticated("invalid link: unknown channel or category")
    return Unsubscribe(
        patient_id=UUID(str(claims["sub"])),
        channel=claims["channel"],
        category=claims["category"],
    )
