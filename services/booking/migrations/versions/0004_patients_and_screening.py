"""Screening questions, patients' health fields and their read audit, erasure."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "screening_questions",
        sa.Column("clinic_id", sa.Uuid, sa.ForeignKey("clinics.id"), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("flags_when", sa.Boolean, nullable=False),
        sa.Column("effect", sa.Text, nullable=False),
        sa.CheckConstraint("effect IN ('review', 'block')", name="effect_known"),
    )
    op.add_column("patients", sa.Column("date_of_birth", sa.Date))
    op.add_column("patients", sa.Column("skin_type", sa.SmallInteger))
    op.add_column("patients", sa.Column("concerns", ARRAY(sa.Text), nullable=False, server_default="{}"))
    op.add_column("patients", sa.Column("revision", sa.Integer, nullable=False, server_default="1"))
    op.add_column("patients", sa.Column("erased_at", sa.DateTime(timezone=True)))
    op.create_check_constraint("skin_type_fitzpatrick", "patients", "skin_type BETWEEN 1 AND 6")
    # An erased patient has no contact details left; everyone else stays reachable.
    op.drop_constraint("ck_patients_reachable", "patients")
    op.create_check_constraint(
        "reachable", "patients", "erased_at IS NOT NULL OR email IS NOT NULL OR phone IS NOT NULL"
    )
    op.add_column("appointments", sa.Column("screening_outcome", sa.Text, nullable=False, server_default="clear"))
    op.add_column("appointments", sa.Column("screening_answers", JSONB))
    op.create_check_constraint("screening_outcome_known", "appointments", "screening_outcome IN ('clear', 'review')")
    op.create_table(
        "health_data_reads",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("patient_id", sa.Uuid, sa.ForeignKey("patients.id"), nullable=False, index=True),
        sa.Column("read_by", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("health_data_reads")
    op.drop_constraint("ck_appointments_screening_outcome_known", "appointments")
    op.drop_column("appointments", "screening_answers")
    op.drop_column("appointments", "screening_outcome")
    op.drop_constraint("ck_patients_reachable", "patients")
    op.create_check_constraint("reachable", "patients", "email IS NOT NULL OR phone IS NOT NULL")
    op.drop_constraint("ck_patients_skin_type_fitzpatrick", "patients")
    for column in ("erased_at", "revision", "concerns", "skin_type", "date_of_birth"):
        op.drop_column("patients", column)
    op.drop_table("screening_questions")
