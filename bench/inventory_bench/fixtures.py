"""Stock set up through inventory's own use cases, in-process, as its API and consumer would: the
clinic learnt from booking's event, items added to the catalogue, the clinic's face kit, deliveries.

Two shapes:
  * kit clinics (I1, the reserve-a-kit latency, the round trip): a face kit of six lines (two
    cartridges, numbing cream by the gram, three consumables), two lots of every item, ample stock;
  * the hot clinic (I2): a face kit of one cartridge, one lot with a huge stock that every
    reservation takes from.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from clinic_shared.events import Envelope
from clinic_shared.events.catalogue import Address, ClinicChanged
from clinic_shared.messaging import HandlerContext
from clinic_shared.outbox import Outbox
from clinic_shared.projections.clinics import apply_clinic_changed
from clinic_shared.runtime import SessionFactory
from inventory.adapters.uow import InventoryUnitOfWork
from inventory.domain.items import Item
from inventory.domain.kits import KitLine
from inventory.service.stock import Delivery, add_item, receive, set_kit

ZONE = "Europe/Amsterdam"
KIT_STOCK = Decimal(10_000_000)  # per lot: no measurement comes near it
HOT_STOCK = Decimal(500_000_000)  # lots.on_hand is numeric(12, 3)


@dataclass(frozen=True)
class KitLot:
    """The lot a reservation takes a kit line from (first expiry first out), as the raw baseline needs it."""

    lot_id: UUID
    item_id: UUID
    lot_number: str
    expires_on: date
    quantity: Decimal  # per reservation
    unit: str


@dataclass(frozen=True)
class KitClinic:
    clinic_id: UUID
    lots: tuple[KitLot, ...]  # one per kit line

    @property
    def kit_quantity(self) -> Decimal:
        return sum((lot.quantity for lot in self.lots), Decimal(0))


def kit_items() -> list[tuple[Item, Decimal]]:
    """Six items and what one face visit uses of each."""
    return [
        (Item.define(name="Cartridge 36-pin", kind="cartridge", unit="each", needle_configuration="36-pin",
                     fits_device_models=("Pen 4",)), Decimal(1)),
        (Item.define(name="Cartridge 12-pin", kind="cartridge", unit="each", needle_configuration="12-pin",
                     fits_device_models=("Pen 4",)), Decimal(1)),
        (Item.define(name="Lidocaine cream 5%", kind="numbing_cream", unit="gram", active_ingredient="lidocaine",
                     concentration_percent=Decimal(5)), Decimal(3)),
        (Item.define(name="Sterile gauze", kind="consumable", unit="each"), Decimal(4)),
        (Item.define(name="Saline ampoule", kind="consumable", unit="each"), Decimal(1)),
        (Item.define(name="Nitrile gloves (pair)", kind="consumable", unit="each"), Decimal(2)),
    ]  # fmt: skip


def hot_items() -> list[tuple[Item, Decimal]]:
    return [
        (Item.define(name="Cartridge 36-pin (hot)", kind="cartridge", unit="each", needle_configuration="36-pin",
                     fits_device_models=("Pen 4",)), Decimal(1)),
    ]  # fmt: skip


async def learn_clinic(factory: SessionFactory, clinic_id: UUID, name: str) -> None:
    """Booking's `clinic changed` event applied by inventory's projection handler, in its own transaction."""
    event = ClinicChanged(
        clinic_id=clinic_id,
        revision=1,
        name=name,
        address=Address(line1="Herengracht 1", city="Amsterdam", postal_code="1015 BS", country="NL"),
        timezone=ZONE,
        phone="+31 20 555 0100",
    )
    async with factory() as session, session.begin():
        outbox = Outbox(producer="inventory")
        envelope = Envelope.wrap(event, producer="booking")
        await apply_clinic_changed(event, HandlerContext(session=session, outbox=outbox, envelope=envelope))
        await outbox.flush(session)


async def add_items(factory: SessionFactory, items: list[tuple[Item, Decimal]]) -> None:
    for item, _ in items:
        await add_item(InventoryUnitOfWork(factory, producer="inventory"), item)


async def stock_clinic(
    factory: SessionFactory, clinic_id: UUID, items: list[tuple[Item, Decimal]], *, lots_per_item: int, stock: Decimal
) -> KitClinic:
    """The clinic's face kit and its deliveries; the clinic must be known already."""
    await set_kit(
        InventoryUnitOfWork(factory, producer="inventory"),
        clinic_id=clinic_id,
        area="face",
        lines=[KitLine(item_id=item.id, quantity=quantity) for item, quantity in items],
    )
    today = datetime.now(UTC).date()
    first: list[KitLot] = []
    for item, quantity in items:
        for n in range(lots_per_item):
            expires_on = today + timedelta(days=400 + 100 * n)
            delivery = Delivery(
                clinic_id=clinic_id,
                quantity=stock,
                supplier="bench",
                received_by="bench",
                item_id=item.id,
                lot_number=f"B{n}-{item.id.hex[:6]}",
                expires_on=expires_on,
            )
            lot = await receive(
                InventoryUnitOfWork(factory, producer="inventory"), delivery, margin_days=30, now=datetime.now(UTC)
            )
            if n == 0:
                first.append(KitLot(lot.id, item.id, lot.lot_number, lot.expires_on, quantity, item.unit))
    return KitClinic(clinic_id=clinic_id, lots=tuple(first))


async def kit_clinics(factory: SessionFactory, count: int) -> list[KitClinic]:
    items = kit_items()
    await add_items(factory, items)
    clinics = []
    for n in range(count):
        clinic_id = uuid.uuid4()
        await learn_clinic(factory, clinic_id, f"Bench kit clinic {n:02d}")
        clinics.append(await stock_clinic(factory, clinic_id, items, lots_per_item=2, stock=KIT_STOCK))
    return clinics


async def hot_clinic(factory: SessionFactory) -> KitClinic:
    items = hot_items()
    await add_items(factory, items)
    clinic_id = uuid.uuid4()
    await learn_clinic(factory, clinic_id, "Bench hot clinic")
    return await stock_clinic(factory, clinic_id, items, lots_per_item=1, stock=HOT_STOCK)
