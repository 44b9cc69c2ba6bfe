"""Signed links that let a patient view, reschedule and cancel one appointment, or look after one
waitlist entry (see the offer, accept or decline it, leave), without an account; and the token of a
hold, a time kept for a few minutes while a patient fills in their details (see, extend, release it,
book with it).

The token is a JWT (HS256) scoped to one appointment, one waitlist entry or one hold; each kind has an
audience of its own (its purpose), so none passes for another. It is a contract between booking,
which verifies it, and the services that put it in front of patients (booking's answers,
notifications' messages): they share the signing secret (`*_MANAGE_LINK_SECRET`), so it lives here.
The identity provider's staff tokens are a separate matter.
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
HOLD_AUDIENCE = "clinic-hold"
# A hold token outlives the longest its hold can last a little, to read back what became of it.
VALID_AFTER_HOLD = timedelta(minutes=10)


@dataclass(frozen=True)
class ManageGrant:
    appointment_id: UUID
    patient_id: UUID


@dataclass(frozen=True)
class WaitlistGrant:
    entry_id: UUID
    patient_id: UUID


@dataclass(frozen=True)
class HoldGrant:
    hold_id: UUID


class LinkExpired(NotAuthenticated):
    """A genuine link or token (its signature checked) whose time is over."""


def sign(
    secret: str, *, audience: str, patient_id: UUID, claims: dict[str, str], expires: datetime, issuer: str = ISSUER
) -> str:
    """A patient link: HS256 with the shared secret, for one audience (one purpose) and one patient."""
    body: dict[str, object] = {
        "iss": issuer, "aud": audience, "sub": str(patient_id), **claims, "iat": datetime.now(UTC), "exp": expires,
    }  # fmt: skip
    return jwt.encode(body, secret, algorithm="HS256")


def verified(
    secret: str, token: str, *, audience: str, required: tuple[str, ...], what: str, issuer: str = ISSUER
) -> dict[str, str]:
    """The claims of a valid link for this audience (its patient in `sub`); NotAuthenticated otherwise."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "sub", *required]},
        )
        UUID(str(claims["sub"]))
        return {name: str(value) for name, value in claims.items()}
    except jwt.ExpiredSignatureError as error:
        raise LinkExpired(f"invalid {what}: {type(error).__name__}") from error
    except (jwt.PyJWTError, ValueError) as error:
        raise NotAuthenticated(f"invalid {what}: {type(error).__name__}") from error


def _sign(secret: str, *, audience: str, patient_id: UUID, scope: tuple[str, UUID], expires: datetime) -> str:
    claim, value = scope
    return sign(secret, audience=audience, patient_id=patient_id, claims={claim: str(value)}, expires=expires)


def _verified(secret: str, token: str, *, audience: str, claim: str, what: str) -> tuple[UUID, UUID]:
    """(the scoped id, the patient id) of a valid link of this kind; NotAuthenticated otherwise."""
    claims = verified(secret, token, audience=audience, required=(claim,), what=what)
    try:
        return UUID(claims[claim]), UUID(claims["sub"])
    except ValueError as error:
        raise NotAuthenticated(f"invalid {what}: {type(error).__name__}") from error


def issue(secret: str, *, appointment_id: UUID, patient_id: UUID, visit_ends_at: datetime) -> str:
    return _sign(
        secret,
        audience=AUDIENCE,
        patient_id=patient_id,
        scope=("appointment", appointment_id),
        expires=visit_ends_at + VALID_AFTER_VISIT,
    )


def verify(secret: str, token: str) -> ManageGrant:
    appointment_id, patient_id = _verified(secret, token, audience=AUDIENCE, claim="appointment", what="manage link")
    return ManageGrant(appointment_id=appointment_id, patient_id=patient_id)


def issue_waitlist(secret: str, *, entry_id: UUID, patient_id: UUID, last_day: date) -> str:
    return _sign(
        secret,
        audience=WAITLIST_AUDIENCE,
        patient_id=patient_id,
        scope=("waitlist_entry", entry_id),
        expires=datetime.combine(last_day, time(), UTC) + VALID_AFTER_WAIT,
    )


def verify_waitlist(secret: str, token: str) -> WaitlistGrant:
    entry_id, patient_id = _verified(
        secret, token, audience=WAITLIST_AUDIENCE, claim="waitlist_entry", what="waitlist link"
    )
    return WaitlistGrant(entry_id=entry_id, patient_id=patient_id)


def issue_hold(secret: str, *, hold_id: UUID, lasts_at_most_until: datetime) -> str:
    """`lasts_at_most_until`: the end of the hold's longest possible life (extended, if it may be)."""
    # Nobody is named on a hold: the token's subject is the hold itself.
    return _sign(
        secret,
        audience=HOLD_AUDIENCE,
        patient_id=hold_id,
        scope=("hold", hold_id),
        expires=lasts_at_most_until + VALID_AFTER_HOLD,
    )


def verify_hold(secret: str, token: str) -> HoldGrant:
    """LinkExpired (a NotAuthenticated) for a genuine hold token whose hold is over for certain."""
    hold_id, _ = _verified(secret, token, audience=HOLD_AUDIENCE, claim="hold", what="hold token")
    return HoldGrant(hold_id=hold_id)
