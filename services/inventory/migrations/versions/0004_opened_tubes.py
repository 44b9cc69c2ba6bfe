"""Opened numbing cream tubes, tracked by the grams left in each."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

OLD_REASONS = (
    "'received', 'reserved', 'released', 'consumed', 'reallocated', 'recalled', 'adjusted_damaged_packaging',"
    " 'adjusted_dropped_or_contaminated', 'adjusted_opened_unused', 'adjusted_expired_disposal',"
    " 'adjusted_count_correction', 'transfer_out', 'transfer_in'"
)
REASONS = OLD_REASONS + ", 'opened'"


def upgrade() -> None:
    op.create_table(
        "opened_tubes",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("lot_id", sa.Uuid, sa.ForeignKey("lots.id"), nullable=False),
        sa.Column("clinic_id", sa.Uuid, nullable=False),
        sa.Column("grams_left", sa.Numeric(8, 2), nullable=False),
        sa.Column("opened_by", sa.Text, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("grams_left >= 0", name="grams_left_not_negative"),
    )
    op.create_index(
        "ix_opened_tubes_clinic_open", "opened_tubes", ["clinic_id"], postgresql_where=sa.text("finished_at IS NULL")
    )
    op.drop_constraint("ck_ledger_reason_known", "ledger")
    op.create_check_constraint("reason_known", "ledger", f"reason IN ({REASONS})")


def downgrade() -> None:
    # The ledger keeps its 'opened' rows (it is append-only): the older rule holds for new rows only.
    op.drop_constraint("ck_ledger_reason_known", "ledger")
    op.execute(f"ALTER TABLE ledger ADD CONSTRAINT ck_ledger_reason_known CHECK (reason IN ({OLD_REASONS})) NOT VALID")
    op.drop_index("ix_opened_tubes_clinic_open", "opened_tubes")
    op.drop_table("opened_tubes")
