"""Kits: what one visit uses per treated area (e.g. the face: one cartridge and some grams of numbing
cream). The chain keeps a default; a clinic's own kit for an area replaces it there."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal
from uuid import UUID

from clinic_shared.errors import InvalidInput
from inventory.domain.items import Item

Area = Literal["face", "neck", "decolletage", "hands"]


class InvalidKit(InvalidInput):
    code = "invalid_kit"


@dataclass(frozen=True)
class KitLine:
    item_id: UUID
    quantity: Decimal


def check_lines(lines: Sequence[KitLine]) -> None:
    if not lines:
        raise InvalidKit("a kit has at least one line", field="lines")
    if len({line.item_id for line in lines}) != len(lines):
        raise InvalidKit("name each item once", field="lines")
    if any(line.quantity <= 0 for line in lines):
        raise InvalidKit("quantities are positive", field="lines")


def kit_for(areas: Iterable[Area], kits: Mapping[Area, Sequence[KitLine]]) -> list[KitLine] | None:
    """All the areas' lines (summed by item), or None when an area has no kit at all."""
    needed: dict[UUID, Decimal] = {}
    for area in areas:
        lines = kits.get(area)
        if not lines:
            return None
        for line in lines:
            needed[line.item_id] = needed.get(line.item_id, Decimal(0)) + line.quantity
    return [KitLine(item_id=item, quantity=quantity) for item, quantity in needed.items()]


def for_device(
    lines: list[KitLine] | None, items: Mapping[UUID, Item], device_model: str | None
) -> list[KitLine] | None:
    """The kit for a visit on this device model: a cartridge line applies only when the cartridge fits
    the model (a kit may list one cartridge per device model); other lines always apply. None when
    the kit had cartridges and none fits: there is no kit for this device. With the model unknown
    (the clinic recorded none), the kit as defined."""
    if lines is None or device_model is None:
        return lines
    cartridges = [line for line in lines if items[line.item_id].kind == "cartridge"]
    fits = [
        line
        for line in cartridges
        if not items[line.item_id].fits_device_models or device_model in items[line.item_id].fits_device_models
    ]
    if cartridges and not fits:
        return None
    return [line for line in lines if line not in cartridges or line in fits]
