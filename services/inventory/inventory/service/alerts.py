"""Alerts and foresight for clinic managers: `stock low` once per dip below a reorder point, an hourly
sweep for lots about to expire, and projected shortfalls of reserved kits against usable stock."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from uuid import UUID

from clinic_shared.events import catalogue
from clinic_shared.logging import get_logger
from clinic_shared.outbox import Outbox
from clinic_shared.runtime import SessionFactory
from inventory.adapters.movements import MovementRepository
from inventory.adapters.uow import InventoryUnitOfWork
from inventory.domain.forecast import DayProjection, first_shortfall, project
from inventory.settings import InventorySettings

log = get_logger(__name__)


async def announce_low_stock(
    movements: MovementRepository, outbox: Outbox, *, clinic_id: UUID, item_ids: Collection[UUID]
) -> None:
    """After a change that lowers what is available: `stock low` for items newly below their level."""
    if not item_ids:
        return
    today = datetime.now(UTC).date()
    for low in await movements.newly_low(clinic_id=clinic_id, item_ids=item_ids, today=today):
        outbox.add(
            catalogue.StockLow(
                clinic_id=low.clinic_id,
                item_id=low.item_id,
                item_name=low.item_name,
                available=low.available,
                reorder_point=low.level,
                unit=low.unit,
            )
        )


async def sweep_expiring(session_factory: SessionFactory, settings: InventorySettings) -> None:
    """Worker job (hourly, and safe to run more often): `lot expiring` once per lot with stock that
    expires within the configured number of days."""
    before = datetime.now(UTC).date() + timedelta(days=settings.expiry_warning_days)
    async with InventoryUnitOfWork(session_factory, producer=settings.service_name) as uow:
        movements = uow.movements
        expiring = await movements.claim_expiring(before=before)
        names = await uow.items.names({row.item_id for row in expiring})
        for row in expiring:
            uow.outbox.add(
                catalogue.LotExpiring(
                    clinic_id=row.clinic_id,
                    item_id=row.item_id,
                    item_name=names[row.item_id].name,
                    lot_number=row.lot_number,
                    expires_on=row.expires_on,
                    on_hand=row.on_hand,
                )
            )
        await uow.commit()
    if expiring:
        log.info("lots_expiring_announced", count=len(expiring))


async def forecast(uow: InventoryUnitOfWork, *, clinic_id: UUID, days: int) -> dict[UUID, list[DayProjection]]:
    today = datetime.now(UTC).date()
    async with uow:
        await uow.stock.clinic_zone(clinic_id)
        movements = uow.movements
        usable = await movements.usable_lots(clinic_id)
        committed = await movements.committed(clinic_id, from_day=today)
    return project(
        ((row.item_id, row.expires_on, row.usable) for row in usable),
        ((row.item_id, row.visit_day, row.quantity) for row in committed),
        [today + timedelta(days=offset) for offset in range(days)],
    )


async def announce_shortfalls(session_factory: SessionFactory, settings: InventorySettings) -> None:
    """Worker job: for every clinic and item, the first day in the forecast window where reserved kits
    exceed usable stock becomes one `shortfall projected` event (once per clinic, item and day)."""
    today = datetime.now(UTC).date()
    days = [today + timedelta(days=offset) for offset in range(settings.forecast_days)]
    async with InventoryUnitOfWork(session_factory, producer=settings.service_name) as uow:
        movements = uow.movements
        usable = await movements.usable_lots(None)
        committed = await movements.committed(None, from_day=today)
        clinics = {row.clinic_id for row in committed}
        announced = 0
        for clinic_id in sorted(clinics):
            projection = project(
                ((r.item_id, r.expires_on, r.usable) for r in usable if r.clinic_id == clinic_id),
                ((r.item_id, r.visit_day, r.quantity) for r in committed if r.clinic_id == clinic_id),
                days,
            )
            names = await uow.items.names(projection)
            for item_id, item_days in projection.items():
                short = first_shortfall(item_days)
                if short is None or not await movements.first_shortfall_alert(
                    clinic_id=clinic_id, item_id=item_id, on_date=short.day
                ):
                    continue
                uow.outbox.add(
                    catalogue.ShortfallProjected(
                        clinic_id=clinic_id,
                        item_id=item_id,
                        item_name=names[item_id].name,
                        on_date=short.day,
                        required=short.committed,
                        available=max(short.usable, 0),
                        unit=names[item_id].unit,
                    )
                )
                announced += 1
        await uow.commit()
    if announced:
        log.warning("shortfalls_projected", count=announced)
