"""Who a signed-in staff member is (from the provider's ID token), and what their role lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
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


@dataclass(frozen=True)
class LotLine:
    item: str
    lot_number: str
    expires_on: date
    on_hand: Decimal
    reserved: Decimal
    available: Decimal
    recalled: bool

    @property
    def expired(self) -> bool:
        return self.expires_on < date.today()

    @property
    def expiring_soon(self) -> bool:
        return not self.expired and self.expires_on <= date.today() + timedelta(days=30)


@dataclass(frozen=True)
class Stock:
    clinic: Clinic
    lots: list[LotLine]


class NotYourClinic(PermissionError):
    pass


async def stock(apis: Apis, clinic_id: UUID, *, token: str, visitor: str | None) -> Stock:
    """Every lot the clinic holds, soonest expiry first, as the signed-in member may see it."""
    clinic = next((c for c in await clinics(apis, visitor=visitor) if c.id == clinic_id), None)
    answer = await apis.inventory.get(f"/clinics/{clinic_id}/stock", token=token, visitor=visitor, limit=200)
    if answer.status in (401, 403, 404) or clinic is None:
        raise NotYourClinic(str(clinic_id))
    items = {
        i["id"]: i["name"] for i in (await apis.inventory.get("/items", token=token, limit=200)).expected()["items"]
    }
    lines = [
        LotLine(
            item=items.get(lot["item_id"], lot["item_id"]), lot_number=lot["lot_number"],
            expires_on=date.fromisoformat(lot["expires_on"]), on_hand=Decimal(lot["on_hand"]),
            reserved=Decimal(lot["reserved"]), available=Decimal(lot["available"]), recalled=lot["recalled"],
        )
        for lot in answer.expected()["items"]
    ]  # fmt: skip
    return Stock(clinic=clinic, lots=sorted(lines, key=lambda line: (line.expires_on, line.item)))
