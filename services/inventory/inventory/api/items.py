"""The chain's item catalogue."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Self
from uuid import UUID

from fastapi import APIRouter
from pydantic import Field

from clinic_shared.pagination import Page, PageParams
from clinic_shared.web import ERROR_RESPONSES, RequestModel, error_response
from inventory.api.common import (
    Admin,
    Staff,
    UnitOfWork,
)
from inventory.domain.items import Item, Kind, Unit
from inventory.service import stock as service

router = APIRouter(responses=ERROR_RESPONSES)


# --- items -------------------------------------------------------------------------------------------


class ItemIn(RequestModel):
    name: str = Field(min_length=2, max_length=120, examples=["Sterile cartridge, 36-pin"])
    kind: Kind
    unit: Unit
    gtin: str | None = Field(default=None, pattern=r"^[0-9]{14}$", description="GS1 GTIN-14")
    needle_configuration: str | None = Field(default=None, max_length=40, examples=["36-pin"])
    fits_device_models: list[str] = Field(default_factory=list, max_length=20)
    active_ingredient: str | None = Field(default=None, max_length=80, examples=["lidocaine"])
    concentration_percent: Decimal | None = Field(default=None, gt=0, le=100, max_digits=5, decimal_places=2)
    tube_grams: Decimal | None = Field(default=None, gt=0, le=1000, max_digits=8, decimal_places=2)


class ItemOut(ItemIn):
    id: UUID

    @classmethod
    def of(cls, item: Item) -> Self:
        return cls(**{**asdict(item), "fits_device_models": list(item.fits_device_models)})


@router.post(
    "/items",
    status_code=201,
    summary="Add an item to the catalogue",
    tags=["items"],
    responses={409: error_response("Another item has this GTIN")},
)
async def add_item(body: ItemIn, uow: UnitOfWork, principal: Admin) -> ItemOut:
    """The chain's catalogue, shared by every clinic (admins)."""
    del principal
    item = Item.define(**{**body.model_dump(), "fits_device_models": tuple(body.fits_device_models)})
    return ItemOut.of(await service.add_item(uow, item))


@router.get("/items", summary="The item catalogue", tags=["items"])
async def list_items(uow: UnitOfWork, principal: Staff, page: PageParams) -> Page[ItemOut]:
    del principal
    items = await service.list_items(uow, offset=page.offset, limit=page.fetch)
    return Page[ItemOut].of([ItemOut.of(item) for item in items], page)
