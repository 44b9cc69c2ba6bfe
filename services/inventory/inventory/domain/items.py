"""Items: what a clinic stocks. Sterile needle cartridges (needle configuration, the device models they
fit), numbing cream (active ingredient, concentration, tube size) and other consumables."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Self
from uuid import UUID, uuid4

from clinic_shared.errors import Conflict, InvalidInput, NotFound
from inventory.domain.gs1 import check_digit_matches

Kind = Literal["cartridge", "numbing_cream", "consumable"]
Unit = Literal["each", "gram", "tube"]


class ItemNotFound(NotFound):
    code = "item_not_found"


class InvalidItem(InvalidInput):
    code = "invalid_item"


class GtinTaken(Conflict):
    code = "gtin_taken"


@dataclass(frozen=True)
class Item:
    id: UUID
    name: str
    kind: Kind
    unit: Unit
    gtin: str | None = None
    needle_configuration: str | None = None
    fits_device_models: tuple[str, ...] = ()
    active_ingredient: str | None = None
    concentration_percent: Decimal | None = None
    tube_grams: Decimal | None = None

    @classmethod
    def define(
        cls,
        *,
        name: str,
        kind: Kind,
        unit: Unit,
        gtin: str | None = None,
        needle_configuration: str | None = None,
        fits_device_models: tuple[str, ...] = (),
        active_ingredient: str | None = None,
        concentration_percent: Decimal | None = None,
        tube_grams: Decimal | None = None,
    ) -> Self:
        if gtin is not None and not (
            len(gtin) == 14 and gtin.isascii() and gtin.isdigit() and check_digit_matches(gtin)
        ):
            raise InvalidItem("a GTIN has 14 digits and a valid check digit", field="gtin")
        if kind == "cartridge":
            if not needle_configuration:
                raise InvalidItem("a cartridge names its needle configuration", field="needle_configuration")
            if not fits_device_models:
                raise InvalidItem("a cartridge names the device models it fits", field="fits_device_models")
            if unit != "each":
                raise InvalidItem("cartridges are counted one by one", field="unit")
        if kind == "numbing_cream" and (active_ingredient is None or concentration_percent is None):
            raise InvalidItem("numbing cream names its active ingredient and concentration", field="active_ingredient")
        if kind == "numbing_cream" and unit == "tube" and tube_grams is None:
            raise InvalidItem("a cream counted in tubes gives the tube size", field="tube_grams")
        return cls(
            id=uuid4(),
            name=name,
            kind=kind,
            unit=unit,
            gtin=gtin,
            needle_configuration=needle_configuration,
            fits_device_models=fits_device_models,
            active_ingredient=active_ingredient,
            concentration_percent=concentration_percent,
            tube_grams=tube_grams,
        )
