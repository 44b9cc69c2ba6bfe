"""Signed links that let a patient view, reschedule and cancel one appointment, or look after one
waitlist entry (see the offer, accept or decline it, leave), without an account.

The token is a JWT signed by booking itself (HS256, its own secret), scoped to one appointment or
one waitlist entry and its patient; the two kinds have different audiences, so neither passes for
the other. The identity provider's staff tokens are a separate matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

import jwt

from clinic_shared.auth import NotAuthenticated

AUDIENCE = "clinic-manage-link"
WAITLIST_AUDIENCE = "clinic-waitlist-link"
ISSUER = "booking"
# A link keeps working a while after the visit, for aftercare questions and the next session.
VALID_AFTER_VISIT = timedelta(days=60)
# A waitlist link is needed until the last day waited for, and to read back what came of it.
VALID_AFTER_WAIT = timedelta(days=30)


@dataclass(frozen=True)
class ManageGrant:
    appointment_id: UUID
    patient_id: UUID


@dataclass(frozen=True)
class WaitlistGrant:
    entry_id: UUID
    patient_id: UUID


def issue(secret: str, *, appointment_id: UUID, patient_id: UUID, visit_ends_at: datetime) -> str:
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(patient_id),
        "appointment": str(appointment_id),
        "iat": datetime.now(UTC),
        "exp": visit_ends_at + VALID_AFTER_VISIT,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify(secret: str, token: str) -> ManageGrant:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "appointment"]},
        )
        return ManageGrant(appointment_id=UUID(claims["appointment"]), patient_id=UUID(claims["sub"]))
    except (jwt.PyJWTError, ValueError) as error:
        raise NotAuthenticated(f"invalid manage link: {type(error).__name__}") from error


def issue_waitlist(secret: str, *, entry_id: UUID, patient_id: UUID, last_day: date) -> str:
    claims = {
        "iss": ISSUER,
        "aud": WAITLIST_AUDIENCE,
        "sub": str(patient_id),
        "waitlist_entry": str(entry_id),
        "iat": datetime.now(UTC),
        "exp": datetime.combine(last_day, time(), UTC) + VALID_AFTER_WAIT,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_waitlist(secret: str, token: str) -> WaitlistGrant:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=WAITLIST_AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "waitlist_entry"]},
        )
        return WaitlistGrant(entry_id=UUID(claims["waitlist_entry"]), patient_id=UUID(claims["sub"]))
    except (jwt.PyJWTError, ValueError) as error:
        raise NotAuthenticated(f"invalid waitlist link: {type(error).__name__}") from error
