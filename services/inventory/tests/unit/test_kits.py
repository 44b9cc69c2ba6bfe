"""Kits: areas add up, and a visit's device decides which cartridge line applies."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.domain.items import Item
from inventory.domain.kits import KitLine, for_device, kit_for

pytestmark = pytest.mark.unit

PEN = Item.define(name="Cartridge for Pen 4", kind="cartridge", unit="each", needle_configuration="12-pin",
                  fits_device_models=("Pen 4",))  # fmt: skip
DERMA = Item.define(name="Cartridge for Derma X", kind="cartridge", unit="each", needle_configuration="12-pin",
                    fits_device_models=("Derma X",))  # fmt: skip
CREAM = Item.define(name="Cream", kind="numbing_cream", unit="gram", active_ingredient="lidocaine",
                    concentration_percent=Decimal(5))  # fmt: skip
ITEMS = {item.id: item for item in (PEN, DERMA, CREAM)}
FACE = [KitLine(PEN.id, Decimal(1)), KitLine(DERMA.id, Decimal(1)), KitLine(CREAM.id, Decimal(3))]


def test_the_kits_of_several_areas_add_up_by_item() -> None:
    kit = kit_for(["face", "neck"], {"face": FACE, "neck": [KitLine(CREAM.id, Decimal(2))]})
    assert kit is not None
    assert {line.item_id: line.quantity for line in kit}[CREAM.id] == 5
    assert kit_for(["face", "hands"], {"face": FACE}) is None, "an area without a kit: no kit"


def test_only_the_cartridge_that_fits_the_visits_device_applies() -> None:
    on_pen = for_device(FACE, ITEMS, "Pen 4")
    assert on_pen is not None
    assert {line.item_id for line in on_pen} == {PEN.id, CREAM.id}
    assert for_device(FACE, ITEMS, None) == FACE, "device unknown: the kit as defined"
    assert for_device(FACE, ITEMS, "Other Pen") is None, "no cartridge fits: no kit for this device"
    cream_only = [KitLine(CREAM.id, Decimal(2))]
    assert for_device(cream_only, ITEMS, "Other Pen") == cream_only
    assert for_device(None, ITEMS, "Pen 4") is None
