"""Managers' use cases: the item catalogue, receiving deliveries, kits, and reading stock and ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from clinic_shared.runtime import SessionFactory
from inventory.adapters.repositories import Change
from inventory.adapters.uow import InventoryUnitOfWork
from inventory.domain import gs1
from inventory.domain.items import Item, ItemNotFound
from inventory.domain.kits import Area, KitLine, check_lines
from inventory.domain.stock import InvalidQuantity, Lot, LotIsRecalled, Receipt, check_receipt


class BarcodeIncomplete(gs1.InvalidBarcode):
    code = "barcode_incomplete"


async def add_item(uow: InventoryUnitOfWork, item: Item) -> Item:
    async with uow:
        await uow.items.add(item)
        await uow.commit()
    return item


async def list_items(uow: InventoryUnitOfWork, *, offset: int, limit: int) -> list[Item]:
    async with uow:
        return await uow.items.listed(offset=offset, limit=limit)


@dataclass(frozen=True)
class Delivery:
    clinic_id: UUID
    quantity: Decimal
    supplier: str | None
    received_by: str
    item_id: UUID | None = None
    lot_number: str | None = None
    expires_on: date | None = None
    barcode: str | None = None


async def receive(uow: InventoryUnitOfWork, delivery: Delivery, *, margin_days: int, now: datetime) -> Lot:
    """Record a delivery into the clinic's lot (created on its first delivery). The fields come from the
    request or from a GS1 barcode (GTIN, lot, expiry); an expired lot, or one expiring within the margin,
    is refused."""
    async with uow:
        zone = ZoneInfo(await uow.stock.clinic_zone(delivery.clinic_id))
        today = now.astimezone(zone).date()
        item_id, lot_number, expires_on = delivery.item_id, delivery.lot_number, delivery.expires_on
        if delivery.barcode is not None:
            fields = gs1.parse(delivery.barcode, today=today)
            if fields.gtin is None or fields.lot_number is None or fields.expires_on is None:
                raise BarcodeIncomplete(
                    "the barcode must carry the GTIN (01), lot (10) and expiry (17)", field="barcode"
                )
            item_id = (await uow.items.by_gtin(fields.gtin)).id
            lot_number, expires_on = fields.lot_number, fields.expires_on
        if item_id is None or lot_number is None or expires_on is None:
            raise InvalidQuantity("give the item, lot number and expiry, or a barcode", field="item_id")
        await uow.items.get(item_id)
        receipt = Receipt(
            clinic_id=delivery.clinic_id,
            item_id=item_id,
            lot_number=lot_number,
            expires_on=expires_on,
            quantity=delivery.quantity,
            supplier=delivery.supplier,
            received_by=delivery.received_by,
        )
        check_receipt(receipt, today=today, margin_days=margin_days)
        if await uow.movements.is_recalled(item_id=item_id, lot_number=lot_number):
            raise LotIsRecalled(f"lot {lot_number} of this item is recalled; it cannot be received", field="lot_number")
        lot = await uow.stock.lot_for_receipt(
            clinic_id=delivery.clinic_id, item_id=item_id, lot_number=lot_number, expires_on=expires_on
        )
        await uow.stock.apply(
            [Change(lot=lot, reason="received", actor=delivery.received_by, on_hand=delivery.quantity,
                    reference=delivery.supplier)]
        )  # fmt: skip
        received = await uow.stock.lot(lot.id)
        await uow.commit()
    return received


async def stock(
    uow: InventoryUnitOfWork,
    *,
    clinic_id: UUID,
    item_id: UUID | None,
    lot_number: str | None,
    expiring_before: date | None,
    offset: int,
    limit: int,
) -> list[Lot]:
    async with uow:
        await uow.stock.clinic_zone(clinic_id)
        return await uow.stock.stock(
            clinic_id=clinic_id,
            item_id=item_id,
            lot_number=lot_number,
            expiring_before=expiring_before,
            offset=offset,
            limit=limit,
        )


async def ledger(
    uow: InventoryUnitOfWork,
    *,
    clinic_id: UUID,
    item_id: UUID | None,
    appointment_id: UUID | None,
    reasons: Sequence[str],
    since: datetime | None,
    until: datetime | None,
    after_id: int,
    limit: int,
) -> list[dict[str, Any]]:
    async with uow:
        await uow.stock.clinic_zone(clinic_id)
        return await uow.stock.ledger(
            clinic_id=clinic_id,
            item_id=item_id,
            appointment_id=appointment_id,
            reasons=reasons,
            since=since,
            until=until,
            after_id=after_id,
            limit=limit,
        )


async def set_kit(
    uow: InventoryUnitOfWork, *, clinic_id: UUID | None, area: Area, lines: Sequence[KitLine]
) -> dict[Area, list[KitLine]]:
    """A clinic's own kit for an area (an empty list returns the area to the chain's default), or with
    no clinic the chain's default kit."""
    if clinic_id is None or lines:
        check_lines(lines)
    async with uow:
        if clinic_id is not None:
            await uow.stock.clinic_zone(clinic_id)
        known = await uow.items.names([line.item_id for line in lines])
        unknown = [line.item_id for line in lines if line.item_id not in known]
        if unknown:
            raise ItemNotFound(f"no such item: {unknown[0]}", field="lines")
        await uow.kits.replace(clinic_id=clinic_id, area=area, lines=lines)
        kits = await uow.kits.for_clinic(clinic_id) if clinic_id else await uow.kits.defaults()
        await uow.commit()
    return kits


async def kits(uow: InventoryUnitOfWork, *, clinic_id: UUID) -> dict[Area, list[KitLine]]:
    async with uow:
        await uow.stock.clinic_zone(clinic_id)
        return await uow.kits.for_clinic(clinic_id)


async def reconcile(session_factory: SessionFactory) -> list[dict[str, Any]]:
    """Every lot whose balances differ from its ledger; reads only, changes nothing."""
    async with InventoryUnitOfWork(session_factory, producer="inventory") as uow:
        return await uow.stock.drift()
