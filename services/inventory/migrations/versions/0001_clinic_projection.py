"""Plumbing (outbox, processed messages) and the clinic projection fed by booking."""

from alembic import op

from clinic_shared.migrations import create_plumbing_v1, drop_plumbing_v1
from clinic_shared.projections.clinics import create_clinic_projection_v1

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_plumbing_v1(op)
    create_clinic_projection_v1(op)


def downgrade() -> None:
    op.drop_table("clinics")
    drop_plumbing_v1(op)
