"""Who a signed-in staff member is (from the provider's ID token), and what their role lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from web.clients import Apis
from web.i18n import N_
from web.service.booking_flow import clinics
from web.service.views import Clinic
from web.sessions import Session

ROLES = ("practitioner", "front_desk", "clinic_manager", "admin")

# What each role does in the platform, in the words a clinic uses (translated on the page).
ABILITIES: dict[str, tuple[str, ...]] = {
    "practitioner": (
        N_("See the day's schedule of your clinics"),
        N_("Read a visit's screening answers before treating"),
        N_("Complete a visit: the needle depth per area and the cartridge lot used"),
    ),
    "front_desk": (
        N_("See the day's schedule of your clinics"),
        N_("Check patients in and mark visits missed"),
        N_("Book, move and cancel visits for patients who call"),
        N_("See the waitlist"),
    ),
    "clinic_manager": (
        N_("Everything the front desk does"),
        N_("Keep supplies: stock by lot, deliveries, counts, waste and transfers"),
        N_("Set up the clinic: rooms, devices, closures, treatments and screening questions"),
        N_("Choose who receives supply alerts, and edit the clinic's messages"),
    ),
    "admin": (
        N_("Everything a clinic manager does, at every clinic"),
        N_("Open clinics and register practitioners and their credentials"),
        N_("Recall a lot across the chain"),
    ),
}


@dataclass(frozen=True)
class Member:
    subject: str
    name: str
    role: str
    clinic_ids: tuple[UUID, ...]

    def stored(self) -> dict[str, Any]:
        return {"subject": self.subject, "name": self.name, "role": self.role,
                "clinics": [str(c) for c in self.clinic_ids]}  # fmt: skip


def member_of(token: dict[str, Any], *, role_claim: str = "role", clinics_claim: str = "clinics") -> Member:
    """The signed-in person, from the ID token's claims (Authlib has verified it)."""
    claims = token.get("userinfo") or {}
    role = str(claims.get(role_claim, ""))
    return Member(
        subject=str(claims.get("sub", "")),
        name=str(claims.get("name") or claims.get("sub", "")),
        role=role if role in ROLES else "none",
        clinic_ids=tuple(UUID(str(c)) for c in claims.get(clinics_claim, []) or []),
    )


def signed_in(session: Session) -> Member | None:
    stored = session.get("member") if session.kind == "staff" else None
    if not isinstance(stored, dict):
        return None
    return Member(
        subject=stored["subject"], name=stored["name"], role=stored["role"],
        clinic_ids=tuple(UUID(c) for c in stored["clinics"]),
    )  # fmt: skip


def abilities(role: str) -> tuple[str, ...]:
    return ABILITIES.get(role, ())


async def clinics_of(apis: Apis, member: Member, *, visitor: str | None) -> list[Clinic]:
    every = await clinics(apis, visitor=visitor)
    return every if member.role == "admin" else [c for c in every if c.id in member.clinic_ids]
