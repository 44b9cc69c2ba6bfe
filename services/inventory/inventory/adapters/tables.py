"""Inventory's tables as SQLAlchemy Core objects (the migrations hold the frozen DDL)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Numeric,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY

from clinic_shared.db import new_metadata

# Foreign keys to the clinic projection live in the migrations; these tables only read and write.
metadata = new_metadata()

QUANTITY = Numeric(12, 3)

items = Table(
    "items",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("gtin", Text, unique=True),
    Column("needle_configuration", Text),
    Column("fits_device_models", ARRAY(Text), nullable=False),
    Column("active_ingredient", Text),
    Column("concentration_percent", Numeric(5, 2)),
    Column("tube_grams", Numeric(8, 2)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

lots = Table(
    "lots",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("clinic_id", Uuid, nullable=False),
    Column("item_id", Uuid, ForeignKey("items.id"), nullable=False),
    Column("lot_number", Text, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("on_hand", QUANTITY, nullable=False),
    Column("reserved", QUANTITY, nullable=False),
    Column("quarantined", QUANTITY, nullable=False),
    Column("recalled_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expiry_alerted_at", DateTime(timezone=True)),
)

ledger = Table(
    "ledger",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("lot_id", Uuid, ForeignKey("lots.id"), nullable=False),
    Column("clinic_id", Uuid, nullable=False),
    Column("item_id", Uuid, nullable=False),
    Column("on_hand_change", QUANTITY, nullable=False),
    Column("reserved_change", QUANTITY, nullable=False),
    Column("quarantined_change", QUANTITY, nullable=False),
    Column("reason", Text, nullable=False),
    Column("appointment_id", Uuid),
    Column("actor", Text, nullable=False),
    Column("reference", Text),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

default_kit_lines = Table(
    "default_kit_lines",
    metadata,
    Column("area", Text, primary_key=True),
    Column("item_id", Uuid, ForeignKey("items.id"), primary_key=True),
    Column("quantity", QUANTITY, nullable=False),
)

clinic_kit_lines = Table(
    "clinic_kit_lines",
    metadata,
    Column("clinic_id", Uuid, primary_key=True),
    Column("area", Text, primary_key=True),
    Column("item_id", Uuid, ForeignKey("items.id"), primary_key=True),
    Column("quantity", QUANTITY, nullable=False),
)

reservations = Table(
    "reservations",
    metadata,
    Column("appointment_id", Uuid, primary_key=True),
    Column("clinic_id", Uuid, nullable=False),
    Column("status", Text, nullable=False),
    Column("visit_day", Date),
    Column("unavailable_reason", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

reservation_lines = Table(
    "reservation_lines",
    metadata,
    Column("appointment_id", Uuid, ForeignKey("reservations.appointment_id"), primary_key=True),
    Column("lot_id", Uuid, ForeignKey("lots.id"), primary_key=True),
    Column("item_id", Uuid, nullable=False),
    Column("quantity", QUANTITY, nullable=False),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("from_clinic_id", Uuid, nullable=False),
    Column("to_clinic_id", Uuid, nullable=False),
    Column("from_lot_id", Uuid, nullable=False),
    Column("item_id", Uuid, nullable=False),
    Column("lot_number", Text, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("quantity", QUANTITY, nullable=False),
    Column("status", Text, nullable=False),
    Column("sent_by", Text, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("received_by", Text),
    Column("received_at", DateTime(timezone=True)),
)

recalls = Table(
    "recalls",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("item_id", Uuid, nullable=False),
    Column("lot_number", Text, nullable=False),
    Column("reason_code", Text),
    Column("recalled_by", Text, nullable=False),
    Column("recalled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

reorder_points = Table(
    "reorder_points",
    metadata,
    Column("clinic_id", Uuid, primary_key=True),
    Column("item_id", Uuid, primary_key=True),
    Column("level", QUANTITY, nullable=False),
    Column("alerted_at", DateTime(timezone=True)),
)

shortfall_alerts = Table(
    "shortfall_alerts",
    metadata,
    Column("clinic_id", Uuid, primary_key=True),
    Column("item_id", Uuid, primary_key=True),
    Column("on_date", Date, primary_key=True),
    Column("alerted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

opened_tubes = Table(
    "opened_tubes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("lot_id", Uuid, ForeignKey("lots.id"), nullable=False),
    Column("clinic_id", Uuid, nullable=False),
    Column("grams_left", Numeric(8, 2), nullable=False),
    Column("opened_by", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
)
