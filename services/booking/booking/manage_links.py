"""Signed links that let a patient view, reschedule and cancel one appointment, without an account.

The token is a JWT signed by booking itself (HS256, its own secret and audience), scoped to one
appointment and its patient; the identity provider's staff tokens are a separate matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import jwt

from clinic_shared.auth import NotAuthenticated

AUDIENCE = "clinic-manage-link"
ISSUER = "booking"
# A link keeps working a while after the visit, for aftercare questions and the next session.
VALID_AFTER_VISIT = timedelta(days=60)


@dataclass(frozen=True)
class ManageGrant:
    appointment_id: UUID
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
