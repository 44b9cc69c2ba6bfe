"""Opened tubes and the grams left in each."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.adapters.tables import lots, opened_tubes
from inventory.domain.tubes import OpenedTube, TubeNotFound

_TUBE: Select[Any] = select(
    opened_tubes.c.id,
    opened_tubes.c.lot_id,
    lots.c.lot_number,
    lots.c.item_id,
    opened_tubes.c.grams_left,
    opened_tubes.c.opened_at,
    opened_tubes.c.finished_at,
    lots.c.recalled_at.is_not(None).label("lot_recalled"),
).join(lots, lots.c.id == opened_tubes.c.lot_id)


class TubeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, *, tube_id: UUID, lot_id: UUID, clinic_id: UUID, grams: Decimal, opened_by: str) -> None:
        await self._session.execute(
            insert(opened_tubes).values(
                id=tube_id, lot_id=lot_id, clinic_id=clinic_id, grams_left=grams, opened_by=opened_by
            )
        )

    async def get(self, *, clinic_id: UUID, tube_id: UUID, for_update: bool = False) -> OpenedTube:
        query = _TUBE.where(opened_tubes.c.id == tube_id, opened_tubes.c.clinic_id == clinic_id)
        if for_update:
            query = query.with_for_update(of=opened_tubes)
        row = (await self._session.execute(query)).first()
        if row is None:
            raise TubeNotFound("this clinic has no such opened tube", field="tube_id")
        return OpenedTube(**row._mapping)

    async def set_left(self, tube_id: UUID, grams: Decimal) -> None:
        await self._session.execute(
            update(opened_tubes)
            .where(opened_tubes.c.id == tube_id)
            .values(grams_left=grams, finished_at=func.now() if grams == 0 else None)
        )

    async def open_at(self, clinic_id: UUID) -> list[OpenedTube]:
        rows = await self._session.execute(
            _TUBE.where(opened_tubes.c.clinic_id == clinic_id, opened_tubes.c.finished_at.is_(None)).order_by(
                opened_tubes.c.opened_at
            )
        )
        return [OpenedTube(**row._mapping) for row in rows]
