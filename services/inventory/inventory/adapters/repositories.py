"""Items, lots and their ledger, kits and reservations. Every stock change writes its ledger entry in
the same statement batch as the change, and the balance checks are PostgreSQL's."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Date, Uuid, any_, bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from clinic_shared.db import violated_constraint
from clinic_shared.projections.clinics import ClinicNotFound, clinics
from inventory.adapters.tables import (
    QUANTITY,
    clinic_kit_lines,
    default_kit_lines,
    items,
    ledger,
    lots,
    reservation_lines,
    reservations,
)
from inventory.domain.items import GtinTaken, Item, ItemNotFound
from inventory.domain.kits import Area, KitLine
from inventory.domain.stock import LedgerReason, Lot, LotDetailsConflict, LotNotFound

# Inventory learns of clinics from booking's events: one not (yet) arrived is the projection's 404.
ClinicNotKnown = ClinicNotFound


@dataclass(frozen=True)
class Change:
    """One stock movement on one lot, as the ledger records it."""

    lot: Lot
    reason: LedgerReason
    actor: str
    on_hand: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)
    quarantined: Decimal = Decimal(0)
    appointment_id: UUID | None = None
    reference: str | None = None


class ItemRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, item: Item) -> None:
        try:
            async with self._session.begin_nested():
                await self._session.execute(insert(items).values(**_item_row(item)))
        except IntegrityError as error:
            if violated_constraint(error) == "uq_items_gtin":
                raise GtinTaken("another item has this GTIN", field="gtin") from error
            raise

    async def get(self, item_id: UUID) -> Item:
        row = (await self._session.execute(select(items).where(items.c.id == item_id))).first()
        if row is None:
            raise ItemNotFound("no such item", field="item_id")
        return item_from_row(row._mapping)

    async def by_gtin(self, gtin: str) -> Item:
        row = (await self._session.execute(select(items).where(items.c.gtin == gtin))).first()
        if row is None:
            raise ItemNotFound("no item has this GTIN", field="barcode")
        return item_from_row(row._mapping)

    async def listed(self, *, offset: int, limit: int) -> list[Item]:
        rows = await self._session.execute(select(items).order_by(items.c.name, items.c.id).offset(offset).limit(limit))
        return [item_from_row(row._mapping) for row in rows]

    async def names(self, item_ids: Collection[UUID]) -> dict[UUID, Item]:
        rows = await self._session.execute(select(items).where(items.c.id.in_(list(item_ids))))
        return {row.id: item_from_row(row._mapping) for row in rows}


# Built once: building a statement and its cache key on every call cost more CPU than its round trip.
_LOCK_LOTS = (
    select(lots)
    .where(lots.c.clinic_id == bindparam("clinic_id"), lots.c.item_id == any_(bindparam("item_ids", type_=ARRAY(Uuid))))
    .order_by(lots.c.id)
    .with_for_update()
)
# Given one parameter set per change, in order: asyncpg sends them in one round trip, and each
# UPDATE still sees the one before it (a lot may appear twice, e.g. released and consumed).
_MOVE = (
    update(lots)
    .where(lots.c.id == bindparam("lot"))
    .values(
        on_hand=lots.c.on_hand + bindparam("on_hand_change", type_=QUANTITY),
        reserved=lots.c.reserved + bindparam("reserved_change", type_=QUANTITY),
        quarantined=lots.c.quarantined + bindparam("quarantined_change", type_=QUANTITY),
    )
)
_RECORD = insert(ledger)


class StockRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def clinic_zone(self, clinic_id: UUID, *, field: str = "clinic_id") -> str:
        """The clinic's time zone; raises when inventory has not learnt of the clinic (yet)."""
        timezone = await self._session.scalar(select(clinics.c.timezone).where(clinics.c.id == clinic_id))
        if timezone is None:
            raise ClinicNotKnown("inventory does not know this clinic", field=field)
        return str(timezone)

    async def lot_for_receipt(self, *, clinic_id: UUID, item_id: UUID, lot_number: str, expires_on: date) -> Lot:
        """The clinic's lot of this number, created empty on its first delivery; locked."""
        await self._session.execute(
            pg_insert(lots)
            .values(
                id=uuid4(),
                clinic_id=clinic_id,
                item_id=item_id,
                lot_number=lot_number,
                expires_on=expires_on,
                on_hand=0,
                reserved=0,
                quarantined=0,
            )
            .on_conflict_do_nothing(index_elements=[lots.c.clinic_id, lots.c.item_id, lots.c.lot_number])
        )
        row = (
            await self._session.execute(
                select(lots)
                .where(lots.c.clinic_id == clinic_id, lots.c.item_id == item_id, lots.c.lot_number == lot_number)
                .with_for_update()
            )
        ).one()
        lot = _lot(row._mapping)
        if lot.expires_on != expires_on:
            raise LotDetailsConflict(
                f"lot {lot_number} is on record as expiring on {lot.expires_on:%Y-%m-%d}", field="expires_on"
            )
        return lot

    async def lot(self, lot_id: UUID, *, for_update: bool = False) -> Lot:
        query = select(lots).where(lots.c.id == lot_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        if row is None:
            raise LotNotFound("no such lot", field="lot_id")
        return _lot(row._mapping)

    async def find_lot(self, *, clinic_id: UUID, item_id: UUID, lot_number: str) -> Lot | None:
        row = (
            await self._session.execute(
                select(lots)
                .where(lots.c.clinic_id == clinic_id, lots.c.item_id == item_id, lots.c.lot_number == lot_number)
                .with_for_update()
            )
        ).first()
        return _lot(row._mapping) if row else None

    async def lock_lots(self, *, clinic_id: UUID, item_ids: Collection[UUID]) -> list[Lot]:
        """Every lot of these items at the clinic, locked in id order (no deadlock between two
        reservations locking the same lots): concurrent reservations of them queue here."""
        rows = await self._session.execute(_LOCK_LOTS, {"clinic_id": clinic_id, "item_ids": list(item_ids)})
        return [_lot(row._mapping) for row in rows]

    async def apply(self, changes: Sequence[Change]) -> None:
        """Move the balances and write the ledger. A change that would break a balance rule fails in
        PostgreSQL's check constraints, and the whole transaction with it."""
        await self._session.execute(
            _MOVE,
            [
                {"lot": c.lot.id, "on_hand_change": c.on_hand, "reserved_change": c.reserved,
                 "quarantined_change": c.quarantined}
                for c in changes
            ],
        )  # fmt: skip
        await self._session.execute(
            _RECORD,
            [
                {
                    "lot_id": c.lot.id,
                    "clinic_id": c.lot.clinic_id,
                    "item_id": c.lot.item_id,
                    "on_hand_change": c.on_hand,
                    "reserved_change": c.reserved,
                    "quarantined_change": c.quarantined,
                    "reason": c.reason,
                    "appointment_id": c.appointment_id,
                    "actor": c.actor,
                    "reference": c.reference,
                }
                for c in changes
            ],
        )

    async def stock(
        self,
        *,
        clinic_id: UUID,
        item_id: UUID | None,
        lot_number: str | None,
        expiring_before: date | None,
        offset: int,
        limit: int,
    ) -> list[Lot]:
        query = select(lots).where(lots.c.clinic_id == clinic_id)
        if item_id is not None:
            query = query.where(lots.c.item_id == item_id)
        if lot_number is not None:
            query = query.where(lots.c.lot_number == lot_number)
        if expiring_before is not None:
            query = query.where(lots.c.expires_on < expiring_before)
        rows = await self._session.execute(
            query.order_by(lots.c.item_id, lots.c.expires_on, lots.c.lot_number).offset(offset).limit(limit)
        )
        return [_lot(row._mapping) for row in rows]

    async def ledger(
        self,
        *,
        clinic_id: UUID,
        item_id: UUID | None,
        appointment_id: UUID | None,
        reasons: Collection[str],
        since: datetime | None,
        until: datetime | None,
        after_id: int,
        limit: int,
    ) -> list[dict[str, Any]]:
        query = (
            select(ledger, lots.c.lot_number)
            .join(lots, lots.c.id == ledger.c.lot_id)
            .where(ledger.c.clinic_id == clinic_id, ledger.c.id > after_id)
        )
        if item_id is not None:
            query = query.where(ledger.c.item_id == item_id)
        if appointment_id is not None:
            query = query.where(ledger.c.appointment_id == appointment_id)
        if reasons:
            query = query.where(ledger.c.reason.in_(list(reasons)))
        if since is not None:
            query = query.where(ledger.c.recorded_at >= since)
        if until is not None:
            query = query.where(ledger.c.recorded_at < until)
        rows = await self._session.execute(query.order_by(ledger.c.id).limit(limit))
        return [dict(row._mapping) for row in rows]

    async def drift(self) -> list[dict[str, Any]]:
        """Lots whose balances differ from the sum of their ledger entries (reconciliation reads only)."""
        sums = (
            select(
                ledger.c.lot_id,
                func.sum(ledger.c.on_hand_change).label("on_hand"),
                func.sum(ledger.c.reserved_change).label("reserved"),
                func.sum(ledger.c.quarantined_change).label("quarantined"),
            )
            .group_by(ledger.c.lot_id)
            .subquery()
        )
        zero = Decimal(0)
        rows = await self._session.execute(
            select(
                lots.c.id,
                lots.c.clinic_id,
                lots.c.item_id,
                lots.c.lot_number,
                lots.c.on_hand,
                lots.c.reserved,
                lots.c.quarantined,
                func.coalesce(sums.c.on_hand, zero).label("ledger_on_hand"),
                func.coalesce(sums.c.reserved, zero).label("ledger_reserved"),
                func.coalesce(sums.c.quarantined, zero).label("ledger_quarantined"),
            )
            .select_from(lots.outerjoin(sums, sums.c.lot_id == lots.c.id))
            .where(
                (lots.c.on_hand != func.coalesce(sums.c.on_hand, zero))
                | (lots.c.reserved != func.coalesce(sums.c.reserved, zero))
                | (lots.c.quarantined != func.coalesce(sums.c.quarantined, zero))
            )
            .order_by(lots.c.clinic_id, lots.c.item_id, lots.c.lot_number)
        )
        return [dict(row._mapping) for row in rows]


class KitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def for_clinic(self, clinic_id: UUID) -> dict[Area, list[KitLine]]:
        """The clinic's kit per area, the chain's default where the clinic has none of its own."""
        kits = await self.defaults()
        own = await self._session.execute(select(clinic_kit_lines).where(clinic_kit_lines.c.clinic_id == clinic_id))
        mine: dict[Area, list[KitLine]] = {}
        for row in own:
            mine.setdefault(row.area, []).append(KitLine(item_id=row.item_id, quantity=row.quantity))
        return {**kits, **mine}

    async def defaults(self) -> dict[Area, list[KitLine]]:
        kits: dict[Area, list[KitLine]] = {}
        for row in await self._session.execute(select(default_kit_lines)):
            kits.setdefault(row.area, []).append(KitLine(item_id=row.item_id, quantity=row.quantity))
        return kits

    async def replace(self, *, clinic_id: UUID | None, area: Area, lines: Sequence[KitLine]) -> None:
        """A clinic's own kit for an area (or, with no clinic, the chain's default). Two replacements of
        the same kit take turns (the last wins) rather than collide on its lines' keys."""
        kit = f"kit:{clinic_id or 'default'}:{area}"
        await self._session.execute(select(func.pg_advisory_xact_lock(func.hashtext(kit))))
        if clinic_id is None:
            await self._session.execute(delete(default_kit_lines).where(default_kit_lines.c.area == area))
            await self._session.execute(
                insert(default_kit_lines),
                [{"area": area, "item_id": line.item_id, "quantity": line.quantity} for line in lines],
            )
            return
        await self._session.execute(
            delete(clinic_kit_lines).where(clinic_kit_lines.c.clinic_id == clinic_id, clinic_kit_lines.c.area == area)
        )
        if lines:
            await self._session.execute(
                insert(clinic_kit_lines),
                [
                    {"clinic_id": clinic_id, "area": area, "item_id": line.item_id, "quantity": line.quantity}
                    for line in lines
                ],
            )


@dataclass(frozen=True)
class Reservation:
    appointment_id: UUID
    clinic_id: UUID
    status: str
    visit_day: date | None
    lines: tuple[tuple[UUID, UUID, Decimal], ...]  # (lot id, item id, quantity)


_SET_STATUS = (
    update(reservations)
    .where(reservations.c.appointment_id == bindparam("appointment"))
    .values(
        status=bindparam("status"),
        updated_at=func.now(),
        unavailable_reason=bindparam("reason"),
        visit_day=func.coalesce(bindparam("visit_day", type_=Date), reservations.c.visit_day),  # None: unchanged
    )
)
# A freshly claimed record has no lines to replace: its status and its lines in one statement.
_RESERVE_FRESH = text(
    """
    WITH reserved AS (
        UPDATE reservations SET status = 'reserved', visit_day = :visit_day, unavailable_reason = NULL,
                                updated_at = now()
         WHERE appointment_id = :appointment_id
    )
    INSERT INTO reservation_lines (appointment_id, lot_id, item_id, quantity)
    SELECT :appointment_id, * FROM unnest(CAST(:lot_ids AS uuid[]), CAST(:item_ids AS uuid[]),
                                          CAST(:quantities AS numeric[]))
    """
)


class ReservationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, appointment_id: UUID) -> Reservation | None:
        """Locked: every event about one appointment is handled one at a time."""
        row = (
            await self._session.execute(
                select(reservations).where(reservations.c.appointment_id == appointment_id).with_for_update()
            )
        ).first()
        if row is None:
            return None
        lines = await self._session.execute(
            select(reservation_lines)
            .where(reservation_lines.c.appointment_id == appointment_id)
            .order_by(reservation_lines.c.lot_id)
        )
        return Reservation(
            appointment_id=row.appointment_id,
            clinic_id=row.clinic_id,
            status=row.status,
            visit_day=row.visit_day,
            lines=tuple((line.lot_id, line.item_id, line.quantity) for line in lines),
        )

    async def claim(self, *, appointment_id: UUID, clinic_id: UUID) -> bool:
        """Create the appointment's record if it has none; False when it had one already."""
        result = await self._session.execute(
            pg_insert(reservations)
            .values(appointment_id=appointment_id, clinic_id=clinic_id, status="released")
            .on_conflict_do_nothing(index_elements=[reservations.c.appointment_id])
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def reserve_fresh(
        self, *, appointment_id: UUID, visit_day: date, lines: Sequence[tuple[UUID, UUID, Decimal]]
    ) -> None:
        """`set(status="reserved", ...)` for a record claimed in this transaction (it has no lines yet)."""
        await self._session.execute(
            _RESERVE_FRESH,
            {
                "appointment_id": appointment_id,
                "visit_day": visit_day,
                "lot_ids": [lot for lot, _, _ in lines],
                "item_ids": [item for _, item, _ in lines],
                "quantities": [quantity for _, _, quantity in lines],
            },
        )

    async def set(
        self,
        *,
        appointment_id: UUID,
        status: str,
        visit_day: date | None = None,
        unavailable_reason: str | None = None,
        lines: Sequence[tuple[UUID, UUID, Decimal]] | None = None,
    ) -> None:
        await self._session.execute(
            _SET_STATUS,
            {"appointment": appointment_id, "status": status, "visit_day": visit_day, "reason": unavailable_reason},
        )
        if lines is not None:
            await self._session.execute(
                delete(reservation_lines).where(reservation_lines.c.appointment_id == appointment_id)
            )
            if lines:
                await self._session.execute(
                    insert(reservation_lines),
                    [
                        {"appointment_id": appointment_id, "lot_id": lot, "item_id": item, "quantity": quantity}
                        for lot, item, quantity in lines
                    ],
                )


def _item_row(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "kind": item.kind,
        "unit": item.unit,
        "gtin": item.gtin,
        "needle_configuration": item.needle_configuration,
        "fits_device_models": list(item.fits_device_models),
        "active_ingredient": item.active_ingredient,
        "concentration_percent": item.concentration_percent,
        "tube_grams": item.tube_grams,
    }


def item_from_row(row: Any) -> Item:
    return Item(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        unit=row["unit"],
        gtin=row["gtin"],
        needle_configuration=row["needle_configuration"],
        fits_device_models=tuple(row["fits_device_models"]),
        active_ingredient=row["active_ingredient"],
        concentration_percent=row["concentration_percent"],
        tube_grams=row["tube_grams"],
    )


def _lot(row: Any) -> Lot:
    return Lot(
        id=row["id"],
        clinic_id=row["clinic_id"],
        item_id=row["item_id"],
        lot_number=row["lot_number"],
        expires_on=row["expires_on"],
        on_hand=row["on_hand"],
        reserved=row["reserved"],
        quarantined=row["quarantined"],
        recalled=row["recalled_at"] is not None,
    )
