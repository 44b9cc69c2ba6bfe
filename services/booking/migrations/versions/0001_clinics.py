"""Plumbing (outbox, processed messages) and clinics."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from clinic_shared.migrations import create_plumbing_v1, drop_plumbing_v1

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_plumbing_v1(op)
    op.create_table(
        "clinics",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("address", JSONB, nullable=False),
        sa.Column("timezone", sa.Text, nullable=False),
        sa.Column("phone", sa.Text, nullable=False),
        sa.Column("opening_hours", JSONB, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("revision >= 1", name="revision_positive"),
        sa.CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
    )
    op.create_index("uq_clinics_lower_name", "clinics", [sa.text("lower(name)")], unique=True)


def downgrade() -> None:
    op.drop_table("clinics")
    drop_plumbing_v1(op)
