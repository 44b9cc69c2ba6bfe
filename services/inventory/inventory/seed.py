"""Demo data for the run command: the chain's item catalogue and default kits, and opening stock at
every clinic inventory knows of. Safe to run again: it adds only what is missing. The run command
runs it once before the workers start (catalogue and kits) and once after booking's demo clinics have
reached inventory (their stock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from sqlalchemy import exists, select

from clinic_shared.projections.clinics import clinics
from clinic_shared.runtime import SessionFactory
from inventory.adapters.tables import default_kit_lines, items, lots
from inventory.adapters.uow import InventoryUnitOfWork
from inventory.domain.items import Item
from inventory.domain.kits import Area, KitLine
from inventory.service import movements, stock

CARTRIDGE = Item.define(
    name="Sterile cartridge, 12-pin", kind="cartridge", unit="each", needle_configuration="12-pin",
    fits_device_models=("Pen 4",),
)  # fmt: skip
NANO = Item.define(
    name="Sterile cartridge, nano", kind="cartridge", unit="each", needle_configuration="nano",
    fits_device_models=("Pen 4",),
)  # fmt: skip
CREAM = Item.define(
    name="Numbing cream, lidocaine 5%", kind="numbing_cream", unit="gram", active_ingredient="lidocaine",
    concentration_percent=Decimal(5),
)  # fmt: skip
GLOVES = Item.define(name="Nitrile gloves, pair", kind="consumable", unit="each")
CATALOGUE = (CARTRIDGE, NANO, CREAM, GLOVES)
# Per area: one cartridge and a pair of gloves for the visit's first area would be more exact; the
# demo keeps one line set per area, which is what the kits model.
DEFAULT_KITS: dict[Area, tuple[tuple[Item, Decimal], ...]] = {
    "face": ((CARTRIDGE, Decimal(1)), (CREAM, Decimal(3)), (GLOVES, Decimal(1))),
    "neck": ((CREAM, Decimal(2)),),
    "decolletage": ((CREAM, Decimal(3)),),
    "hands": ((NANO, Decimal(1)), (CREAM, Decimal(2))),
}
# Per item: (lot suffix, quantity, days to expiry) for the first demo clinic and for the others, and the
# reorder point. Realistic rather than generous: the first clinic runs low on nano cartridges, and
# every clinic has a cream lot close to expiry (the hourly sweep announces it).
OPENING_STOCK: tuple[tuple[Item, tuple[tuple[str, int, int], ...], tuple[tuple[str, int, int], ...], int], ...] = (
    (CARTRIDGE, (("A", 200, 540),), (("A", 120, 540), ("B", 40, 200)), 50),
    (NANO, (("A", 4, 400),), (("A", 60, 400),), 10),
    (CREAM, (("A", 1500, 540), ("SOON", 300, 20)), (("A", 900, 480), ("SOON", 150, 12)), 500),
    (GLOVES, (("A", 500, 900),), (("A", 300, 900),), 100),
)


def uow(session_factory: SessionFactory) -> InventoryUnitOfWork:
    return InventoryUnitOfWork(session_factory, producer="inventory")


async def seed_demo(session_factory: SessionFactory) -> None:
    ids = await _catalogue(session_factory)
    async with session_factory() as session:
        areas_with_default = set(await session.scalars(select(default_kit_lines.c.area).distinct()))
        unstocked = list(
            await session.scalars(select(clinics.c.id).where(~exists().where(lots.c.clinic_id == clinics.c.id)))
        )
    for area, lines in DEFAULT_KITS.items():
        if area not in areas_with_default:
            kit = [KitLine(item_id=ids[item.name], quantity=quantity) for item, quantity in lines]
            await stock.set_kit(uow(session_factory), clinic_id=None, area=area, lines=kit)
    now = datetime.now(UTC)
    for number, clinic_id in enumerate(sorted(unstocked)):
        for item, first_clinic, other_clinics, reorder_point in OPENING_STOCK:
            for suffix, quantity, days in first_clinic if number == 0 else other_clinics:
                await stock.receive(
                    uow(session_factory),
                    stock.Delivery(
                        clinic_id=clinic_id,
                        item_id=ids[item.name],
                        lot_number=f"DEMO-{item.name.split(',')[0][:4].upper()}-{suffix}",
                        expires_on=(now + timedelta(days=days)).date(),
                        quantity=Decimal(quantity),
                        supplier="Demo Supplies BV",
                        received_by="demo-seed",
                    ),
                    margin_days=0,
                    now=now,
                )
            await movements.set_reorder_point(
                uow(session_factory), clinic_id=clinic_id, item_id=ids[item.name], level=Decimal(reorder_point)
            )


async def _catalogue(session_factory: SessionFactory) -> dict[str, UUID]:
    """The demo items by name, created where missing."""
    names = [item.name for item in CATALOGUE]
    async with session_factory() as session:
        rows = await session.execute(select(items.c.name, items.c.id).where(items.c.name.in_(names)))
        known: dict[str, UUID] = {row.name: row.id for row in rows}
    for item in CATALOGUE:
        if item.name not in known:
            await stock.add_item(uow(session_factory), item)
            known[item.name] = item.id
    return known
