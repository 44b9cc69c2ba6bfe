"""Items, stock by clinic and lot, the append-only ledger, kits and reservations for visits.

PostgreSQL holds the stock invariants itself: on hand, reserved and quarantined are never negative
and reserved + quarantined never exceed on hand; the ledger refuses UPDATE and DELETE.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0002"
down_revision = "0001"

QUANTITY = sa.Numeric(12, 3)
AREAS = "('face', 'neck', 'decolletage', 'hands')"
LEDGER_REASONS = (
    "'received', 'reserved', 'released', 'consumed', 'reallocated', 'recalled', 'adjusted_damaged_packaging',"
    " 'adjusted_dropped_or_contaminated', 'adjusted_opened_unused', 'adjusted_expired_disposal',"
    " 'adjusted_count_correction', 'transfer_out', 'transfer_in'"
)


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("gtin", sa.Text, unique=True),
        sa.Column("needle_configuration", sa.Text),
        sa.Column("fits_device_models", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("active_ingredient", sa.Text),
        sa.Column("concentration_percent", sa.Numeric(5, 2)),
        sa.Column("tube_grams", sa.Numeric(8, 2)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("kind IN ('cartridge', 'numbing_cream', 'consumable')", name="kind_known"),
        sa.CheckConstraint("unit IN ('each', 'gram', 'tube')", name="unit_known"),
        sa.CheckConstraint("gtin ~ '^[0-9]{14}$'", name="gtin_digits"),
    )
    op.create_table(
        "lots",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("clinic_id", sa.Uuid, sa.ForeignKey("clinics.id"), nullable=False),
        sa.Column("item_id", sa.Uuid, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("lot_number", sa.Text, nullable=False),
        sa.Column("expires_on", sa.Date, nullable=False),
        sa.Column("on_hand", QUANTITY, nullable=False),
        sa.Column("reserved", QUANTITY, nullable=False, server_default="0"),
        sa.Column("quarantined", QUANTITY, nullable=False, server_default="0"),
        sa.Column("recalled_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("clinic_id", "item_id", "lot_number"),
        sa.CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        sa.CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        sa.CheckConstraint("quarantined >= 0", name="quarantined_not_negative"),
        sa.CheckConstraint("reserved + quarantined <= on_hand", name="reserved_within_on_hand"),
    )
    op.create_index("ix_lots_clinic_item_expiry", "lots", ["clinic_id", "item_id", "expires_on"])
    op.create_index("ix_lots_item_lot", "lots", ["item_id", "lot_number"])

    op.create_table(
        "ledger",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("lot_id", sa.Uuid, sa.ForeignKey("lots.id"), nullable=False, index=True),
        sa.Column("clinic_id", sa.Uuid, nullable=False),
        sa.Column("item_id", sa.Uuid, nullable=False),
        sa.Column("on_hand_change", QUANTITY, nullable=False, server_default="0"),
        sa.Column("reserved_change", QUANTITY, nullable=False, server_default="0"),
        sa.Column("quarantined_change", QUANTITY, nullable=False, server_default="0"),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("appointment_id", sa.Uuid),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("reference", sa.Text),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(f"reason IN ({LEDGER_REASONS})", name="reason_known"),
    )
    op.create_index("ix_ledger_clinic_recorded", "ledger", ["clinic_id", "recorded_at"])
    op.create_index(
        "ix_ledger_appointment", "ledger", ["appointment_id"], postgresql_where=sa.text("appointment_id IS NOT NULL")
    )
    op.execute(
        """
        CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the stock ledger is append-only' USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger "
        "FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only()"
    )

    # What one visit uses per treated area: the chain's default, and a clinic's own where it has one.
    op.create_table(
        "default_kit_lines",
        sa.Column("area", sa.Text, primary_key=True),
        sa.Column("item_id", sa.Uuid, sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("quantity", QUANTITY, nullable=False),
        sa.CheckConstraint(f"area IN {AREAS}", name="area_known"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )
    op.create_table(
        "clinic_kit_lines",
        sa.Column("clinic_id", sa.Uuid, sa.ForeignKey("clinics.id"), primary_key=True),
        sa.Column("area", sa.Text, primary_key=True),
        sa.Column("item_id", sa.Uuid, sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("quantity", QUANTITY, nullable=False),
        sa.CheckConstraint(f"area IN {AREAS}", name="area_known"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    op.create_table(
        "reservations",
        sa.Column("appointment_id", sa.Uuid, primary_key=True),
        sa.Column("clinic_id", sa.Uuid, nullable=False, index=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("visit_day", sa.Date),
        sa.Column("unavailable_reason", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('reserved', 'unavailable', 'released', 'consumed')", name="status_known"),
    )
    op.create_table(
        "reservation_lines",
        sa.Column("appointment_id", sa.Uuid, sa.ForeignKey("reservations.appointment_id"), primary_key=True),
        sa.Column("lot_id", sa.Uuid, sa.ForeignKey("lots.id"), primary_key=True),
        sa.Column("item_id", sa.Uuid, nullable=False),
        sa.Column("quantity", QUANTITY, nullable=False),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )
    op.create_index("ix_reservation_lines_lot", "reservation_lines", ["lot_id"])


def downgrade() -> None:
    op.drop_table("reservation_lines")
    op.drop_table("reservations")
    op.drop_table("clinic_kit_lines")
    op.drop_table("default_kit_lines")
    op.execute("DROP TRIGGER ledger_append_only ON ledger")
    op.execute("DROP FUNCTION ledger_is_append_only()")
    op.drop_table("ledger")
    op.drop_table("lots")
    op.drop_table("items")
