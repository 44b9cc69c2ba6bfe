"""Inventory's HTTP API for clinic managers: the item catalogue, deliveries, stock by lot, the ledger
(also as CSV), kits, adjustments, counts, transfers, opened tubes, reorder points, the forecast and
recalls. Every clinic route is scoped: a manager of one clinic cannot read or change another's stock
(403). Here: the routers, and the one table from domain errors to HTTP status codes."""

from __future__ import annotations

from clinic_shared.errors import DomainError
from clinic_shared.projections.clinics import clinic_projection_router
from inventory.adapters.repositories import ClinicNotKnown
from inventory.api import alerts, items, kits, movements, recalls, stock, tubes
from inventory.domain import gs1
from inventory.domain.items import GtinTaken, InvalidItem, ItemNotFound
from inventory.domain.kits import InvalidKit
from inventory.domain.stock import (
    BelowReserved,
    InvalidQuantity,
    InvalidTransfer,
    LotDetailsConflict,
    LotExpired,
    LotIsRecalled,
    LotNotFound,
    TransferAlreadyReceived,
    TransferNotFound,
)
from inventory.domain.tubes import NotATube, NotEnoughLeft, TubeNotFound
from inventory.service.recalls import AlreadyRecalled
from inventory.service.stock import BarcodeIncomplete

ERROR_STATUS: dict[type[DomainError], int] = {
    ClinicNotKnown: 404,
    ItemNotFound: 404,
    LotNotFound: 404,
    GtinTaken: 409,
    LotDetailsConflict: 409,
    LotIsRecalled: 409,
    InvalidItem: 422,
    InvalidKit: 422,
    InvalidQuantity: 422,
    LotExpired: 422,
    gs1.InvalidBarcode: 422,
    BelowReserved: 409,
    InvalidTransfer: 422,
    TransferNotFound: 404,
    TransferAlreadyReceived: 409,
    AlreadyRecalled: 409,
    BarcodeIncomplete: 422,
    NotATube: 422,
    TubeNotFound: 404,
    NotEnoughLeft: 409,
}

ROUTERS = (
    clinic_projection_router(),
    items.router,
    stock.router,
    kits.router,
    movements.router,
    alerts.router,
    recalls.router,
    tubes.router,
)
