"""Transfers, recalls, reorder points and what the alerts read: the less frequent side of stock."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.adapters.tables import (
    items,
    ledger,
    lots,
    recalls,
    reorder_points,
    reservation_lines,
    reservations,
    shortfall_alerts,
    transfers,
)
from inventory.domain.items import Unit
from inventory.domain.stock import TransferNotFound


@dataclass(frozen=True)
class Transfer:
    id: UUID
    from_clinic_id: UUID
    to_clinic_id: UUID
    from_lot_id: UUID
    item_id: UUID
    lot_number: str
    expires_on: date
    quantity: Decimal
    status: str
    sent_by: str
    sent_at: datetime
    received_by: str | None
    received_at: datetime | None


@dataclass(frozen=True)
class LowStock:
    clinic_id: UUID
    item_id: UUID
    item_name: str
    unit: Unit
    available: Decimal
    level: Decimal


class MovementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- transfers ----------------------------------------------------------------------------------

    async def add_transfer(
        self,
        *,
        from_clinic_id: UUID,
        to_clinic_id: UUID,
        from_lot_id: UUID,
        item_id: UUID,
        lot_number: str,
        expires_on: date,
        quantity: Decimal,
        sent_by: str,
    ) -> Transfer:
        row = (
            await self._session.execute(
                insert(transfers)
                .values(
                    id=uuid4(),
                    from_clinic_id=from_clinic_id,
                    to_clinic_id=to_clinic_id,
                    from_lot_id=from_lot_id,
                    item_id=item_id,
                    lot_number=lot_number,
                    expires_on=expires_on,
                    quantity=quantity,
                    status="in_transit",
                    sent_by=sent_by,
                )
                .returning(transfers)
            )
        ).one()
        return Transfer(**row._mapping)

    async def transfer(self, transfer_id: UUID, *, for_update: bool = False) -> Transfer:
        query = select(transfers).where(transfers.c.id == transfer_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        if row is None:
            raise TransferNotFound("no such transfer", field="transfer_id")
        return Transfer(**row._mapping)

    async def mark_received(self, transfer_id: UUID, *, received_by: str) -> Transfer:
        row = (
            await self._session.execute(
                update(transfers)
                .where(transfers.c.id == transfer_id, transfers.c.status == "in_transit")
                .values(status="received", received_by=received_by, received_at=func.now())
                .returning(transfers)
            )
        ).one()
        return Transfer(**row._mapping)

    async def transfers_of(self, clinic_id: UUID, *, status: str | None, offset: int, limit: int) -> list[Transfer]:
        query = select(transfers).where(
            (transfers.c.from_clinic_id == clinic_id) | (transfers.c.to_clinic_id == clinic_id)
        )
        if status is not None:
            query = query.where(transfers.c.status == status)
        rows = await self._session.execute(
            query.order_by(transfers.c.sent_at, transfers.c.id).offset(offset).limit(limit)
        )
        return [Transfer(**row._mapping) for row in rows]

    # --- recalls ------------------------------------------------------------------------------------

    async def add_recall(
        self, *, item_id: UUID, lot_number: str, reason_code: str | None, recalled_by: str
    ) -> UUID | None:
        """The recall's id; None when this lot was recalled before."""
        recall_id = uuid4()
        result = await self._session.execute(
            pg_insert(recalls)
            .values(
                id=recall_id, item_id=item_id, lot_number=lot_number, reason_code=reason_code, recalled_by=recalled_by
            )
            .on_conflict_do_nothing(index_elements=[recalls.c.item_id, recalls.c.lot_number])
        )
        return recall_id if result.rowcount else None  # type: ignore[attr-defined]

    async def is_recalled(self, *, item_id: UUID, lot_number: str) -> bool:
        found = await self._session.scalar(
            select(recalls.c.id).where(recalls.c.item_id == item_id, recalls.c.lot_number == lot_number)
        )
        return found is not None

    async def lots_numbered(self, *, item_id: UUID, lot_number: str) -> list[Any]:
        """Every clinic's lot of this item and number, locked."""
        rows = await self._session.execute(
            select(lots)
            .where(lots.c.item_id == item_id, lots.c.lot_number == lot_number)
            .order_by(lots.c.id)
            .with_for_update()
        )
        return list(rows)

    async def mark_recalled(self, lot_ids: Collection[UUID]) -> None:
        await self._session.execute(update(lots).where(lots.c.id.in_(list(lot_ids))).values(recalled_at=func.now()))

    async def reservations_on(self, lot_ids: Collection[UUID]) -> list[UUID]:
        """Appointments whose reserved (not yet used) kit draws on these lots."""
        rows = await self._session.execute(
            select(reservation_lines.c.appointment_id)
            .join(reservations, reservations.c.appointment_id == reservation_lines.c.appointment_id)
            .where(reservation_lines.c.lot_id.in_(list(lot_ids)), reservations.c.status == "reserved")
            .distinct()
            .order_by(reservation_lines.c.appointment_id)
        )
        return [row.appointment_id for row in rows]

    async def treated_with(self, lot_ids: Collection[UUID]) -> list[tuple[UUID, UUID]]:
        """(appointment, clinic) of every completed visit that consumed from these lots."""
        rows = await self._session.execute(
            select(ledger.c.appointment_id, ledger.c.clinic_id)
            .where(
                ledger.c.lot_id.in_(list(lot_ids)),
                ledger.c.reason == "consumed",
                ledger.c.appointment_id.is_not(None),
            )
            .distinct()
            .order_by(ledger.c.clinic_id, ledger.c.appointment_id)
        )
        return [(row.appointment_id, row.clinic_id) for row in rows]

    # --- reorder points and stock low ---------------------------------------------------------------

    async def set_reorder_point(self, *, clinic_id: UUID, item_id: UUID, level: Decimal) -> None:
        statement = pg_insert(reorder_points).values(clinic_id=clinic_id, item_id=item_id, level=level)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[reorder_points.c.clinic_id, reorder_points.c.item_id],
                set_={"level": statement.excluded.level, "alerted_at": None},
            )
        )

    async def reorder_points(self, clinic_id: UUID) -> list[tuple[UUID, Decimal]]:
        rows = await self._session.execute(
            select(reorder_points.c.item_id, reorder_points.c.level)
            .where(reorder_points.c.clinic_id == clinic_id)
            .order_by(reorder_points.c.item_id)
        )
        return [(row.item_id, row.level) for row in rows]

    async def newly_low(self, *, clinic_id: UUID, item_ids: Collection[UUID], today: date) -> list[LowStock]:
        """Items of the clinic that are now below their reorder point and were not yet announced (marked
        announced here); items back at or above their level are re-armed."""
        available = (
            select(
                lots.c.item_id,
                func.coalesce(func.sum(lots.c.on_hand - lots.c.reserved - lots.c.quarantined), 0).label("available"),
            )
            .where(
                lots.c.clinic_id == clinic_id,
                lots.c.item_id.in_(list(item_ids)),
                lots.c.expires_on >= today,
                lots.c.recalled_at.is_(None),
            )
            .group_by(lots.c.item_id)
            .subquery()
        )
        rows = await self._session.execute(
            select(
                reorder_points.c.item_id,
                reorder_points.c.level,
                reorder_points.c.alerted_at,
                items.c.name,
                items.c.unit,
                func.coalesce(available.c.available, 0).label("available"),
            )
            .join(items, items.c.id == reorder_points.c.item_id)
            .outerjoin(available, available.c.item_id == reorder_points.c.item_id)
            .where(reorder_points.c.clinic_id == clinic_id, reorder_points.c.item_id.in_(list(item_ids)))
            .with_for_update(of=reorder_points)
        )
        low: list[LowStock] = []
        for row in rows:
            below = row.available < row.level
            if below and row.alerted_at is None:
                low.append(
                    LowStock(
                        clinic_id=clinic_id, item_id=row.item_id, item_name=row.name, unit=row.unit,
                        available=max(row.available, Decimal(0)), level=row.level,
                    )
                )  # fmt: skip
            if below != (row.alerted_at is not None):
                await self._session.execute(
                    update(reorder_points)
                    .where(reorder_points.c.clinic_id == clinic_id, reorder_points.c.item_id == row.item_id)
                    .values(alerted_at=func.now() if below else None)
                )
        return low

    # --- expiry and forecast ------------------------------------------------------------------------

    async def claim_expiring(self, *, before: date, limit: int = 500) -> list[Any]:
        """Lots with stock that expire before `before` and were not announced yet; marked announced."""
        rows = await self._session.execute(
            update(lots)
            .where(
                lots.c.id.in_(
                    select(lots.c.id)
                    .where(lots.c.expires_on < before, lots.c.on_hand > 0, lots.c.expiry_alerted_at.is_(None))
                    .order_by(lots.c.expires_on)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                    .scalar_subquery()
                )
            )
            .values(expiry_alerted_at=func.now())
            .returning(lots.c.clinic_id, lots.c.item_id, lots.c.lot_number, lots.c.expires_on, lots.c.on_hand)
        )
        return list(rows)

    async def usable_lots(self, clinic_id: UUID | None) -> list[Any]:
        query = select(
            lots.c.clinic_id, lots.c.item_id, lots.c.expires_on, (lots.c.on_hand - lots.c.quarantined).label("usable")
        ).where(lots.c.recalled_at.is_(None), lots.c.on_hand > lots.c.quarantined)
        if clinic_id is not None:
            query = query.where(lots.c.clinic_id == clinic_id)
        return list(await self._session.execute(query))

    async def committed(self, clinic_id: UUID | None, *, from_day: date) -> list[Any]:
        """Reserved kits of visits from `from_day` on: (clinic, item, visit day, quantity)."""
        query = (
            select(
                reservations.c.clinic_id,
                reservation_lines.c.item_id,
                reservations.c.visit_day,
                func.sum(reservation_lines.c.quantity).label("quantity"),
            )
            .join(reservation_lines, reservation_lines.c.appointment_id == reservations.c.appointment_id)
            .where(and_(reservations.c.status == "reserved", reservations.c.visit_day >= from_day))
            .group_by(reservations.c.clinic_id, reservation_lines.c.item_id, reservations.c.visit_day)
        )
        if clinic_id is not None:
            query = query.where(reservations.c.clinic_id == clinic_id)
        return list(await self._session.execute(query))

    async def first_shortfall_alert(self, *, clinic_id: UUID, item_id: UUID, on_date: date) -> bool:
        """True the first time this shortfall is seen (then it is recorded)."""
        result = await self._session.execute(
            pg_insert(shortfall_alerts)
            .values(clinic_id=clinic_id, item_id=item_id, on_date=on_date)
            .on_conflict_do_nothing()
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
