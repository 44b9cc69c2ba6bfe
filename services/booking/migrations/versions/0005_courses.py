"""Courses of several sessions; each session is an appointment linked to its course."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("clinic_id", sa.Uuid, sa.ForeignKey("clinics.id"), nullable=False, index=True),
        sa.Column("patient_id", sa.Uuid, sa.ForeignKey("patients.id"), nullable=False, index=True),
        sa.Column("treatment_id", sa.Uuid, sa.ForeignKey("treatments.id"), nullable=False),
        sa.Column("areas", ARRAY(sa.Text), nullable=False),
        sa.Column("sessions_planned", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("sessions_planned BETWEEN 2 AND 10", name="sessions_planned"),
    )
    op.add_column("appointments", sa.Column("course_id", sa.Uuid, sa.ForeignKey("courses.id"), index=True))
    op.add_column("appointments", sa.Column("session_number", sa.Integer))
    op.create_check_constraint(
        "course_session", "appointments", "(course_id IS NULL) = (session_number IS NULL) AND session_number >= 1"
    )
    # Two concurrent "book the next session" requests compute the same number: only one may hold it.
    op.create_index(
        "uq_appointments_course_session",
        "appointments",
        ["course_id", "session_number"],
        unique=True,
        postgresql_where=sa.text("status IN ('requested', 'confirmed', 'checked_in', 'completed')"),
    )


def downgrade() -> None:
    op.drop_index("uq_appointments_course_session", "appointments")
    op.drop_constraint("ck_appointments_course_session", "appointments")
    op.drop_column("appointments", "session_number")
    op.drop_column("appointments", "course_id")
    op.drop_table("courses")
