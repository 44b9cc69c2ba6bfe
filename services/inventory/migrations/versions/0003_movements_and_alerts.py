"""Transfers between clinics, recalls, reorder points and the state that keeps alerts from repeating."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

QUANTITY = sa.Numeric(12, 3)


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("from_clinic_id", sa.Uuid, sa.ForeignKey("clinics.id"), nullable=False),
        sa.Column("to_clinic_id", sa.Uuid, sa.ForeignKey("clinics.id"), nullable=False),
        sa.Column("from_lot_id", sa.Uuid, sa.ForeignKey("lots.id"), nullable=False),
        sa.Column("item_id", sa.Uuid, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("lot_number", sa.Text, nullable=False),
        sa.Column("expires_on", sa.Date, nullable=False),
        sa.Column("quantity", QUANTITY, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("sent_by", sa.Text, nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("received_by", sa.Text),
        sa.Column("received_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("from_clinic_id <> to_clinic_id", name="between_two_clinics"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("status IN ('in_transit', 'received')", name="status_known"),
        sa.CheckConstraint("(status = 'received') = (received_at IS NOT NULL)", name="received_when_received"),
    )
    op.create_index("ix_transfers_to_clinic", "transfers", ["to_clinic_id", "status"])

    op.create_table(
        "recalls",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("item_id", sa.Uuid, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("lot_number", sa.Text, nullable=False),
        sa.Column("reason_code", sa.Text),
        sa.Column("recalled_by", sa.Text, nullable=False),
        sa.Column("recalled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("item_id", "lot_number"),
    )

    op.create_table(
        "reorder_points",
        sa.Column("clinic_id", sa.Uuid, sa.ForeignKey("clinics.id"), primary_key=True),
        sa.Column("item_id", sa.Uuid, sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("level", QUANTITY, nullable=False),
        # Set when `stock low` was announced; cleared when stock is back at or above the level, so the
        # alert goes out once per dip, not on every reservation below it.
        sa.Column("alerted_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("level >= 0", name="level_not_negative"),
    )
    op.add_column("lots", sa.Column("expiry_alerted_at", sa.DateTime(timezone=True)))
    op.create_table(
        "shortfall_alerts",
        sa.Column("clinic_id", sa.Uuid, primary_key=True),
        sa.Column("item_id", sa.Uuid, primary_key=True),
        sa.Column("on_date", sa.Date, primary_key=True),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("shortfall_alerts")
    op.drop_column("lots", "expiry_alerted_at")
    op.drop_table("reorder_points")
    op.drop_table("recalls")
    op.drop_table("transfers")
