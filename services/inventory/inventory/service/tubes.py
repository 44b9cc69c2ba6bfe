"""Opened tubes of numbing cream (the rules are in `inventory.domain.tubes`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from inventory.adapters.repositories import Change
from inventory.adapters.uow import InventoryUnitOfWork
from inventory.domain.tubes import OpenedTube, check_openable
from inventory.service.movements import clinic_lot


async def open_tube(
    uow: InventoryUnitOfWork, *, clinic_id: UUID, lot_id: UUID, actor: str, now: datetime
) -> OpenedTube:
    async with uow:
        zone = ZoneInfo(await uow.stock.clinic_zone(clinic_id))
        lot = await clinic_lot(uow, clinic_id, lot_id)
        grams = check_openable(await uow.items.get(lot.item_id), lot, today=now.astimezone(zone).date())
        tube_id = uuid4()
        await uow.tubes.add(tube_id=tube_id, lot_id=lot.id, clinic_id=clinic_id, grams=grams, opened_by=actor)
        await uow.stock.apply(
            [Change(lot=lot, reason="opened", actor=actor, on_hand=Decimal(-1), reference=str(tube_id))]
        )
        tube = await uow.tubes.get(clinic_id=clinic_id, tube_id=tube_id)
        await uow.commit()
    return tube


async def use(uow: InventoryUnitOfWork, *, clinic_id: UUID, tube_id: UUID, grams: Decimal) -> OpenedTube:
    """Grams taken from an opened tube; at zero the tube is finished."""
    async with uow:
        tube = await uow.tubes.get(clinic_id=clinic_id, tube_id=tube_id, for_update=True)
        await uow.tubes.set_left(tube_id, tube.after_using(grams))
        used = await uow.tubes.get(clinic_id=clinic_id, tube_id=tube_id)
        await uow.commit()
    return used


async def open_tubes(uow: InventoryUnitOfWork, *, clinic_id: UUID) -> list[OpenedTube]:
    async with uow:
        await uow.stock.clinic_zone(clinic_id)
        return await uow.tubes.open_at(clinic_id)
