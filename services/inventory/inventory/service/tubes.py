"""Opened tubes of numbing cream: a cream counted in tubes leaves the lot's stock one tube at a time
when it is opened, and the opened tube is tracked by the grams left in it until it is finished."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Select, func, insert, select, update

from clinic_shared.errors import Conflict, InvalidInput, NotFound
from inventory.adapters.repositories import Change
from inventory.adapters.tables import lots, opened_tubes
from inventory.adapters.uow import InventoryUnitOfWork
from inventory.service.movements import clinic_lot


class NotATube(InvalidInput):
    code = "not_a_tube"


class TubeNotFound(NotFound):
    code = "tube_not_found"


class NotEnoughLeft(Conflict):
    code = "not_enough_left"


@dataclass(frozen=True)
class OpenedTube:
    id: UUID
    lot_id: UUID
    lot_number: str
    item_id: UUID
    grams_left: Decimal
    opened_at: datetime
    finished_at: datetime | None


async def open_tube(uow: InventoryUnitOfWork, *, clinic_id: UUID, lot_id: UUID, actor: str) -> OpenedTube:
    async with uow:
        await uow.stock.clinic_zone(clinic_id)
        lot = await clinic_lot(uow, clinic_id, lot_id)
        item = await uow.items.get(lot.item_id)
        if item.kind != "numbing_cream" or item.unit != "tube" or item.tube_grams is None:
            raise NotATube("only numbing cream counted in tubes (with a tube size) is opened", field="lot_id")
        if lot.recalled:
            raise NotATube("this lot is recalled", field="lot_id")
        lot.check_change(Decimal(-1), field="lot_id")
        tube_id = uuid4()
        await uow.session.execute(
            insert(opened_tubes).values(
                id=tube_id, lot_id=lot.id, clinic_id=clinic_id, grams_left=item.tube_grams, opened_by=actor
            )
        )
        await uow.stock.apply(
            [Change(lot=lot, reason="opened", actor=actor, on_hand=Decimal(-1), reference=str(tube_id))]
        )
        tube = await _tube(uow, clinic_id, tube_id)
        await uow.commit()
    return tube


async def use(uow: InventoryUnitOfWork, *, clinic_id: UUID, tube_id: UUID, grams: Decimal) -> OpenedTube:
    """Grams taken from an opened tube; at zero the tube is finished."""
    if grams <= 0:
        raise InvalidInput("use a positive number of grams", field="grams")
    async with uow:
        tube = await _tube(uow, clinic_id, tube_id, for_update=True)
        if tube.finished_at is not None or tube.grams_left < grams:
            raise NotEnoughLeft(f"this tube has {tube.grams_left} g left", field="grams")
        left = tube.grams_left - grams
        await uow.session.execute(
            update(opened_tubes)
            .where(opened_tubes.c.id == tube_id)
            .values(grams_left=left, finished_at=func.now() if left == 0 else None)
        )
        used = await _tube(uow, clinic_id, tube_id)
        await uow.commit()
    return used


async def open_tubes(uow: InventoryUnitOfWork, *, clinic_id: UUID) -> list[OpenedTube]:
    async with uow:
        await uow.stock.clinic_zone(clinic_id)
        rows = await uow.session.execute(
            _select().where(opened_tubes.c.clinic_id == clinic_id, opened_tubes.c.finished_at.is_(None))
            .order_by(opened_tubes.c.opened_at)
        )  # fmt: skip
        return [OpenedTube(**row._mapping) for row in rows]


def _select() -> Select[Any]:
    return select(
        opened_tubes.c.id,
        opened_tubes.c.lot_id,
        lots.c.lot_number,
        lots.c.item_id,
        opened_tubes.c.grams_left,
        opened_tubes.c.opened_at,
        opened_tubes.c.finished_at,
    ).join(lots, lots.c.id == opened_tubes.c.lot_id)


async def _tube(uow: InventoryUnitOfWork, clinic_id: UUID, tube_id: UUID, *, for_update: bool = False) -> OpenedTube:
    query = _select().where(opened_tubes.c.id == tube_id, opened_tubes.c.clinic_id == clinic_id)
    if for_update:
        query = query.with_for_update(of=opened_tubes)
    row = (await uow.session.execute(query)).first()
    if row is None:
        raise TubeNotFound("this clinic has no such opened tube", field="tube_id")
    return OpenedTube(**row._mapping)
