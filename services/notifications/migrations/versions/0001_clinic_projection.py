"""Plumbing (outbox, processed messages) and the clinic projection fed by booking.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

from clinic_shared.migrations import create_plumbing_v1, drop_plumbing_v1
from clinic_shared.projections.clinics import create_clinic_projection_v1

revision: str = "0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    create_plumbing_v1(op)
    create_clinic_projection_v1(op)


def downgrade() -> None:
    op.drop_table("clinics")
    drop_plumbing_v1(op)
