"""Managing stock by hand: adjustments with a reason, counts whose variances become adjustments,
transfers between clinics (out, in transit, received), and reorder points. Each is one transaction
that also writes the ledger and, when availability drops, the `stock low` alert."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from inventory.adapters.movements import Transfer
from inventory.adapters.repositories import Change
from inventory.adapters.uow import InventoryUnitOfWork
from inventory.domain.stock import (
    AdjustmentReason,
    InvalidQuantity,
    InvalidTransfer,
    Lot,
    LotNotFound,
    TransferAlreadyReceived,
)
from inventory.service.alerts import announce_low_stock


async def clinic_lot(uow: InventoryUnitOfWork, clinic_id: UUID, lot_id: UUID, *, field: str = "lot_id") -> Lot:
    """The lot, locked, if it is this clinic's (another clinic's lot is as unknown as no lot)."""
    try:
        lot = await uow.stock.lot(lot_id, for_update=True)
    except LotNotFound:
        lot = None
    if lot is None or lot.clinic_id != clinic_id:
        raise LotNotFound("this clinic has no such lot", field=field)
    return lot


async def adjust(
    uow: InventoryUnitOfWork, *, clinic_id: UUID, lot_id: UUID, change: Decimal, reason: AdjustmentReason, actor: str
) -> Lot:
    async with uow:
        await uow.stock.clinic_zone(clinic_id)
        lot = await clinic_lot(uow, clinic_id, lot_id)
        lot.check_change(change)
        await uow.stock.apply([Change(lot=lot, reason=f"adjusted_{reason}", actor=actor, on_hand=change)])  # type: ignore[arg-type]
        if change < 0:
            await announce_low_stock(uow.movements, uow.outbox, clinic_id=clinic_id, item_ids=[lot.item_id])
        adjusted = await uow.stock.lot(lot.id)
        await uow.commit()
    return adjusted


@dataclass(frozen=True)
class Counted:
    lot_id: UUID
    counted: Decimal


async def count(uow: InventoryUnitOfWork, *, clinic_id: UUID, lines: Sequence[Counted], actor: str) -> list[Lot]:
    """A stock count: every variance becomes a `count_correction`; all lines or none."""
    if len({line.lot_id for line in lines}) != len(lines):
        raise InvalidQuantity("count each lot once", field="lines")
    async with uow:
        await uow.stock.clinic_zone(clinic_id)
        changes: list[Change] = []
        counted_lots: list[Lot] = []
        for index, line in enumerate(lines):
            if line.counted < 0:
                raise InvalidQuantity("a count is zero or more", field=f"lines.{index}.counted")
            lot = await clinic_lot(uow, clinic_id, line.lot_id, field=f"lines.{index}.lot_id")
            variance = line.counted - lot.on_hand
            if variance:
                lot.check_change(variance, field=f"lines.{index}.counted")
                changes.append(Change(lot=lot, reason="adjusted_count_correction", actor=actor, on_hand=variance))
            counted_lots.append(lot)
        if changes:
            await uow.stock.apply(changes)
            await announce_low_stock(
                uow.movements, uow.outbox, clinic_id=clinic_id,
                item_ids={c.lot.item_id for c in changes},
            )  # fmt: skip
        result = [await uow.stock.lot(lot.id) for lot in counted_lots]
        await uow.commit()
    return result


async def send_transfer(
    uow: InventoryUnitOfWork, *, from_clinic_id: UUID, to_clinic_id: UUID, lot_id: UUID, quantity: Decimal, actor: str
) -> Transfer:
    """Stock leaves the sending clinic now and is in transit until the receiving clinic books it in."""
    if from_clinic_id == to_clinic_id:
        raise InvalidTransfer("a transfer goes to another clinic", field="to_clinic_id")
    if quantity <= 0:
        raise InvalidQuantity("transfer a positive quantity", field="quantity")
    async with uow:
        await uow.stock.clinic_zone(from_clinic_id)
        await uow.stock.clinic_zone(to_clinic_id, field="to_clinic_id")
        lot = await clinic_lot(uow, from_clinic_id, lot_id)
        if lot.recalled:
            raise InvalidTransfer("this lot is recalled; it cannot be moved", field="lot_id")
        lot.check_change(-quantity, field="quantity")
        movements = uow.movements
        transfer = await movements.add_transfer(
            from_clinic_id=from_clinic_id, to_clinic_id=to_clinic_id, from_lot_id=lot.id, item_id=lot.item_id,
            lot_number=lot.lot_number, expires_on=lot.expires_on, quantity=quantity, sent_by=actor,
        )  # fmt: skip
        await uow.stock.apply(
            [Change(lot=lot, reason="transfer_out", actor=actor, on_hand=-quantity, reference=str(transfer.id))]
        )
        await announce_low_stock(movements, uow.outbox, clinic_id=from_clinic_id, item_ids=[lot.item_id])
        await uow.commit()
    return transfer


async def receive_transfer(uow: InventoryUnitOfWork, *, transfer_id: UUID, clinic_id: UUID, actor: str) -> Lot:
    """The receiving clinic books the stock into its lot of the same number (created if needed)."""
    async with uow:
        movements = uow.movements
        transfer = await movements.transfer(transfer_id, for_update=True)
        if transfer.to_clinic_id != clinic_id:
            raise InvalidTransfer("this transfer goes to another clinic", field="transfer_id")
        if transfer.status != "in_transit":
            raise TransferAlreadyReceived("this transfer was received already", field="transfer_id")
        lot = await uow.stock.lot_for_receipt(
            clinic_id=clinic_id, item_id=transfer.item_id, lot_number=transfer.lot_number,
            expires_on=transfer.expires_on,
        )  # fmt: skip
        await movements.mark_received(transfer_id, received_by=actor)
        # Stock that was on the road when its lot was recalled arrives straight into quarantine.
        recalled = await movements.is_recalled(item_id=transfer.item_id, lot_number=transfer.lot_number)
        if recalled:
            await movements.mark_recalled([lot.id])
        await uow.stock.apply(
            [
                Change(
                    lot=lot, reason="transfer_in", actor=actor, on_hand=transfer.quantity,
                    quarantined=transfer.quantity if recalled else Decimal(0), reference=str(transfer_id),
                )
            ]
        )  # fmt: skip
        received = await uow.stock.lot(lot.id)
        await uow.commit()
    return received


async def set_reorder_point(uow: InventoryUnitOfWork, *, clinic_id: UUID, item_id: UUID, level: Decimal) -> None:
    async with uow:
        await uow.stock.clinic_zone(clinic_id)
        await uow.items.get(item_id)
        movements = uow.movements
        await movements.set_reorder_point(clinic_id=clinic_id, item_id=item_id, level=level)
        await announce_low_stock(movements, uow.outbox, clinic_id=clinic_id, item_ids=[item_id])
        await uow.commit()


async def list_transfers(
    uow: InventoryUnitOfWork, *, clinic_id: UUID, status: str | None, offset: int, limit: int
) -> list[Transfer]:
    async with uow:
        await uow.stock.clinic_zone(clinic_id)
        return await uow.movements.transfers_of(clinic_id, status=status, offset=offset, limit=limit)
