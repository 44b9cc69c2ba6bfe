"""The waitlist: patients waiting for a clinic, treatment and dates; a freed time offered to the first.

An offer is an appointment in the status `offered`: it holds practitioner, room and device like any
visit (the exclusion constraints now count it), until the patient accepts (it becomes `requested`),
declines, or lets it lapse. Every time a holding visit stops holding, or moves, a trigger records
the time it freed in `freed_times`, in the same transaction, so no path that frees time is missed;
the worker offers those times to waiting patients.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0006"
down_revision = "0005"

OLD_HOLDING = "status IN ('requested', 'confirmed', 'checked_in', 'completed')"
HOLDING = "status IN ('offered', 'requested', 'confirmed', 'checked_in', 'completed')"
OLD_STATUSES = "'requested', 'confirmed', 'rejected', 'cancelled', 'checked_in', 'completed', 'no_show'"
STATUSES = OLD_STATUSES + ", 'offered', 'offer_expired', 'offer_declined'"
RESOURCES = (
    ("room", "starts_at, ends_at"),
    ("practitioner", "procedure_starts_at, procedure_ends_at"),
    ("device", "procedure_starts_at, ends_at"),
)


def _exclusion_constraints(holding: str) -> None:
    for resource, period in RESOURCES:
        op.execute(f"ALTER TABLE appointments DROP CONSTRAINT ex_appointments_{resource}")
        op.execute(
            f"ALTER TABLE appointments ADD CONSTRAINT ex_appointments_{resource} EXCLUDE USING gist "
            f"({resource}_id WITH =, tstzrange({period}, '[)') WITH &&) WHERE ({holding})"
        )


def upgrade() -> None:
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("clinic_id", sa.Uuid, sa.ForeignKey("clinics.id"), nullable=False),
        sa.Column("patient_id", sa.Uuid, sa.ForeignKey("patients.id"), nullable=False, index=True),
        sa.Column("treatment_id", sa.Uuid, sa.ForeignKey("treatments.id"), nullable=False),
        sa.Column("areas", ARRAY(sa.Text), nullable=False),
        sa.Column("practitioner_id", sa.Uuid, sa.ForeignKey("practitioners.id")),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("last_day", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offers_made", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("status IN ('waiting', 'offered', 'booked', 'left', 'lapsed')", name="status_known"),
        sa.CheckConstraint("first_day <= last_day", name="days_in_order"),
        sa.CheckConstraint("cardinality(areas) BETWEEN 1 AND 4", name="areas_given"),
    )
    # First come, first offered: the queue of a clinic, in the order patients joined it.
    op.create_index(
        "ix_waitlist_entries_queue",
        "waitlist_entries",
        ["clinic_id", "joined_at"],
        postgresql_where=sa.text("status = 'waiting'"),
    )

    op.add_column("appointments", sa.Column("waitlist_entry_id", sa.Uuid, sa.ForeignKey("waitlist_entries.id")))
    op.add_column("appointments", sa.Column("offer_expires_at", sa.DateTime(timezone=True)))
    op.drop_constraint("ck_appointments_status_known", "appointments")
    op.create_check_constraint("status_known", "appointments", f"status IN ({STATUSES})")
    op.create_check_constraint(
        "offer_complete",
        "appointments",
        "status <> 'offered' OR (waitlist_entry_id IS NOT NULL AND offer_expires_at IS NOT NULL)",
    )
    _exclusion_constraints(HOLDING)
    # One open offer per waiting patient, whatever two workers decide at once.
    op.create_index(
        "uq_appointments_open_offer",
        "appointments",
        ["waitlist_entry_id"],
        unique=True,
        postgresql_where=sa.text("status = 'offered'"),
    )
    op.create_index(
        "ix_appointments_offers_lapsing",
        "appointments",
        ["offer_expires_at"],
        postgresql_where=sa.text("status = 'offered'"),
    )
    op.create_index(
        "ix_appointments_waitlist_entry",
        "appointments",
        ["waitlist_entry_id"],
        postgresql_where=sa.text("waitlist_entry_id IS NOT NULL"),
    )

    op.create_table(
        "freed_times",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("clinic_id", sa.Uuid, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("freed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.execute(
        f"""
        CREATE FUNCTION record_freed_time() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (OLD.{HOLDING}) AND (
                NOT (NEW.{HOLDING})
                OR NEW.starts_at <> OLD.starts_at
                OR NEW.ends_at <> OLD.ends_at
                OR NEW.practitioner_id <> OLD.practitioner_id
                OR NEW.room_id <> OLD.room_id
                OR NEW.device_id <> OLD.device_id
            ) THEN
                INSERT INTO freed_times (clinic_id, starts_at, ends_at)
                VALUES (OLD.clinic_id, OLD.starts_at, OLD.ends_at);
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER appointments_record_freed_time AFTER UPDATE ON appointments "
        "FOR EACH ROW EXECUTE FUNCTION record_freed_time()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER appointments_record_freed_time ON appointments")
    op.execute("DROP FUNCTION record_freed_time()")
    op.drop_table("freed_times")
    op.execute("DELETE FROM appointments WHERE status IN ('offered', 'offer_expired', 'offer_declined')")
    op.drop_index("ix_appointments_waitlist_entry", "appointments")
    op.drop_index("ix_appointments_offers_lapsing", "appointments")
    op.drop_index("uq_appointments_open_offer", "appointments")
    _exclusion_constraints(OLD_HOLDING)
    op.drop_constraint("ck_appointments_offer_complete", "appointments")
    op.drop_constraint("ck_appointments_status_known", "appointments")
    op.create_check_constraint("status_known", "appointments", f"status IN ({OLD_STATUSES})")
    op.drop_column("appointments", "offer_expires_at")
    op.drop_column("appointments", "waitlist_entry_id")
    op.drop_table("waitlist_entries")
