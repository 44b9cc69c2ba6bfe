"""Which lots a visit's kit comes from: first expiry, first out, and all or nothing, so a visit never
starts with half a kit or with a lot that expires before the day."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

ShortageReason = Literal["insufficient_stock", "no_valid_lot"]


@dataclass(frozen=True)
class LotStock:
    lot_id: UUID
    item_id: UUID
    lot_number: str
    expires_on: date
    available: Decimal  # on hand - reserved - quarantined, computed by the caller; may be 0
    usable: bool = True  # False when quarantined or recalled


@dataclass(frozen=True)
class Need:
    item_id: UUID
    quantity: Decimal  # > 0


@dataclass(frozen=True)
class Allocated:
    lot_id: UUID
    item_id: UUID
    lot_number: str
    expires_on: date
    quantity: Decimal


@dataclass(frozen=True)
class Missing:
    item_id: UUID
    required: Decimal
    available: Decimal  # usable, in-date stock of this item; less than required


@dataclass(frozen=True)
class Shortage:
    """`no_valid_lot` when no missing item has a usable lot valid on the visit day at all (what there is
    expired before the visit, is quarantined or recalled); `insufficient_stock` otherwise, e.g. valid
    lots exist but too little of them is free."""

    reason: ShortageReason
    missing: tuple[Missing, ...]


def allocate(needs: Sequence[Need], lots: Sequence[LotStock], *, visit_day: date) -> tuple[Allocated, ...] | Shortage:
    """Allocations in the order the needs first name their items, each item's lots earliest expiry
    first; or, when any item falls short, a Shortage naming every item that does and nothing else."""
    required: dict[UUID, Decimal] = {}
    for need in needs:
        required[need.item_id] = required.get(need.item_id, Decimal(0)) + need.quantity
    valid = sorted(
        (lot for lot in lots if lot.item_id in required and lot.usable and lot.expires_on >= visit_day),
        key=lambda lot: (lot.expires_on, lot.lot_number, lot.lot_id),
    )
    allocations: list[Allocated] = []
    missing: list[Missing] = []
    for item_id, quantity in required.items():
        eligible = [lot for lot in valid if lot.item_id == item_id and lot.available > 0]
        in_stock = sum((lot.available for lot in eligible), Decimal(0))
        if in_stock < quantity:
            missing.append(Missing(item_id=item_id, required=quantity, available=in_stock))
        else:
            allocations.extend(_taken_first_expiry_first(eligible, quantity))
    if missing:
        items_with_valid_lot = {lot.item_id for lot in valid}
        no_valid_lot = all(m.item_id not in items_with_valid_lot for m in missing)
        return Shortage(reason="no_valid_lot" if no_valid_lot else "insufficient_stock", missing=tuple(missing))
    return tuple(allocations)


def _taken_first_expiry_first(eligible: Sequence[LotStock], quantity: Decimal) -> list[Allocated]:
    allocations: list[Allocated] = []
    remaining = quantity
    for lot in eligible:
        if remaining <= 0:
            break
        taken = min(lot.available, remaining)
        allocations.append(
            Allocated(
                lot_id=lot.lot_id,
                item_id=lot.item_id,
                lot_number=lot.lot_number,
                expires_on=lot.expires_on,
                quantity=taken,
            )
        )
        remaining -= taken
    return allocations
