"""The visit lifecycle: cancellation, check-in, completion (needle depths, lots used)."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"

COLUMNS = (
    sa.Column("cancelled_by", sa.Text),
    sa.Column("cancel_reason_code", sa.Text),
    sa.Column("checked_in_at", sa.DateTime(timezone=True)),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.Column("needle_depths_mm", JSONB),
    sa.Column("lots_used", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
)


def upgrade() -> None:
    for column in COLUMNS:
        op.add_column("appointments", column)
    # A completed visit always has its treatment record.
    op.create_check_constraint(
        "completed_has_record",
        "appointments",
        "status <> 'completed' OR (completed_at IS NOT NULL AND needle_depths_mm IS NOT NULL)",
    )
    op.create_index("ix_appointments_practitioner_starts", "appointments", ["practitioner_id", "starts_at"])


def downgrade() -> None:
    op.drop_index("ix_appointments_practitioner_starts", "appointments")
    op.drop_constraint("ck_appointments_completed_has_record", "appointments")
    for column in COLUMNS:
        op.drop_column("appointments", column.name)
