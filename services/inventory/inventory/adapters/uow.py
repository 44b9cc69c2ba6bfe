"""Inventory's unit of work: one transaction, its repositories and its outbox."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from clinic_shared.uow import SqlUnitOfWork
from inventory.adapters.movements import MovementRepository
from inventory.adapters.repositories import ItemRepository, KitRepository, ReservationRepository, StockRepository
from inventory.adapters.tubes import TubeRepository


class InventoryUnitOfWork(SqlUnitOfWork):
    items: ItemRepository
    stock: StockRepository
    kits: KitRepository
    reservations: ReservationRepository
    movements: MovementRepository
    tubes: TubeRepository

    def open_repositories(self, session: AsyncSession) -> None:
        self.items = ItemRepository(session)
        self.stock = StockRepository(session)
        self.kits = KitRepository(session)
        self.reservations = ReservationRepository(session)
        self.movements = MovementRepository(session)
        self.tubes = TubeRepository(session)
