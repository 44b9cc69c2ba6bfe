"""What reserving a requested visit's kit needs, and the appointment's claim, in ONE round trip."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Boolean, Text, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.adapters.repositories import ClinicNotKnown, item_from_row
from inventory.adapters.tables import QUANTITY, items
from inventory.domain.items import Item
from inventory.domain.kits import Area, KitLine

# The claim is ReservationRepository.claim's (a record in status `released` that the handler then
# sets), made only for a clinic inventory knows: an unknown clinic gets no row back and nothing
# written. Then one row per kit line of the requested areas, the clinic's own lines replacing the
# chain's default per area, with the line's item and whether the clinic watches that item with a
# reorder point; a clinic with no kit for the areas still gets its one row (all kit columns NULL).
_CLAIM_AND_READ = (
    text(
        """
        WITH claimed AS (
            INSERT INTO reservations (appointment_id, clinic_id, status)
            SELECT :appointment_id, id, 'released' FROM clinics WHERE id = :clinic_id
            ON CONFLICT (appointment_id) DO NOTHING
            RETURNING appointment_id
        ), own AS (
            SELECT area, item_id, quantity FROM clinic_kit_lines WHERE clinic_id = :clinic_id AND area = ANY(:areas)
        ), kit AS (
            SELECT area, item_id, quantity FROM own
            UNION ALL
            SELECT d.area, d.item_id, d.quantity FROM default_kit_lines d
             WHERE d.area = ANY(:areas) AND NOT EXISTS (SELECT FROM own WHERE own.area = d.area)
        )
        SELECT c.timezone, EXISTS (SELECT FROM claimed) AS fresh, kit.area, kit.quantity, i.*,
               EXISTS (SELECT FROM reorder_points r WHERE r.clinic_id = c.id AND r.item_id = i.id) AS watched
          FROM clinics c
          LEFT JOIN (kit JOIN items i ON i.id = kit.item_id) ON true
         WHERE c.id = :clinic_id
        """
    )
    .bindparams(bindparam("areas", type_=ARRAY(Text)))
    .columns(*items.c, timezone=Text, fresh=Boolean, area=Text, quantity=QUANTITY, watched=Boolean)
)


@dataclass(frozen=True)
class VisitRequest:
    fresh: bool  # the appointment had no record before: this request is the first event about it
    zone: str  # the clinic's time zone
    kits: dict[Area, list[KitLine]]  # per requested area that has a kit
    items: dict[UUID, Item]  # the kits' items
    watched: frozenset[UUID]  # the kits' items the clinic has a reorder point for


async def claim_request(
    session: AsyncSession, *, appointment_id: UUID, clinic_id: UUID, areas: Collection[Area]
) -> VisitRequest:
    rows = (
        await session.execute(
            _CLAIM_AND_READ, {"appointment_id": appointment_id, "clinic_id": clinic_id, "areas": list(areas)}
        )
    ).all()
    if not rows:
        raise ClinicNotKnown("inventory does not know this clinic", field="clinic_id")
    kits: dict[Area, list[KitLine]] = {}
    found: dict[UUID, Item] = {}
    watched: set[UUID] = set()
    for row in rows:
        if row.area is None:
            continue
        kits.setdefault(row.area, []).append(KitLine(item_id=row.id, quantity=row.quantity))
        found[row.id] = item_from_row(row._mapping)
        if row.watched:
            watched.add(row.id)
    return VisitRequest(fresh=rows[0].fresh, zone=rows[0].timezone, kits=kits, items=found, watched=frozenset(watched))
