"""Signed links for a patient's message choices: one that opens their preferences, and one-click
unsubscribe links scoped to one channel and category (RFC 8058). Patient links of their own kind
(`clinic_shared.manage_links` signs and checks them, with the secret booking and notifications share),
under audiences of their own, so neither passes for a manage link or a waitlist link, nor the other way
round."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID

from clinic_shared import manage_links
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
    expires = (now or datetime.now(UTC)) + VALID_FOR
    return manage_links.sign(
        secret, audience=PREFERENCES_AUDIENCE, issuer=ISSUER, patient_id=patient_id, claims={}, expires=expires
    )


def unsubscribe_token(secret: str, *, patient_id: UUID, channel: Channel, category: Category,
                      now: datetime | None = None) -> str:  # fmt: skip
    return manage_links.sign(
        secret, audience=UNSUBSCRIBE_AUDIENCE, issuer=ISSUER, patient_id=patient_id,
        claims={"channel": channel, "category": category}, expires=(now or datetime.now(UTC)) + VALID_FOR,
    )  # fmt: skip


def verify_preferences(secret: str, token: str) -> UUID:
    claims = manage_links.verified(
        secret, token, audience=PREFERENCES_AUDIENCE, issuer=ISSUER, required=(), what="preferences link"
    )
    return UUID(claims["sub"])


def verify_unsubscribe(secret: str, token: str) -> Unsubscribe:
    claims = manage_links.verified(
        secret, token, audience=UNSUBSCRIBE_AUDIENCE, issuer=ISSUER, required=("channel", "category"),
        what="unsubscribe link",
    )  # fmt: skip
    channel, category = claims["channel"], claims["category"]
    if channel not in ("email", "sms") or category not in ("care", "marketing"):
        raise NotAuthenticated("invalid unsubscribe link: unknown channel or category")
    return Unsubscribe(UUID(claims["sub"]), channel, category)  # type: ignore[arg-type]
