"""Holds: a time kept for a few minutes while a patient fills in their details, before anyone is named.

A hold is an appointment in the status `held`, without a patient, until `held_until`: it holds
practitioner, room and device like any visit (the exclusion constraints now count it, and the trigger
records the time it frees when it lapses or is released), until it is booked (the row becomes the
visit, `requested`), released (`hold_released`) or lapses (`hold_lapsed`). Only a hold, or a hold that
ended without a booking, lacks a patient.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"

OLD_HOLDING = "status IN ('offered', 'requested', 'confirmed', 'checked_in', 'completed')"
HOLDING = "status IN ('held', 'offered', 'requested', 'confirmed', 'checked_in', 'completed')"
HOLD_STATUSES = "'held', 'hold_lapsed', 'hold_released'"
OLD_STATUSES = (
    "'requested', 'confirmed', 'rejected', 'cancelled', 'checked_in', 'completed', 'no_show', "
    "'offered', 'offer_expired', 'offer_declined'"
)
STATUSES = f"{OLD_STATUSES}, {HOLD_STATUSES}"
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


def _record_freed_time(holding: str) -> None:
    """The trigger function of 0006, with the holding statuses of the day."""
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION record_freed_time() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (OLD.{holding}) AND (
                NOT (NEW.{holding})
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


def upgrade() -> None:
    op.add_column("appointments", sa.Column("held_until", sa.DateTime(timezone=True)))
    op.add_column("appointments", sa.Column("hold_extended_at", sa.DateTime(timezone=True)))
    op.alter_column("appointments", "patient_id", nullable=True)
    op.drop_constraint("ck_appointments_status_known", "appointments")
    op.create_check_constraint("status_known", "appointments", f"status IN ({STATUSES})")
    op.create_check_constraint(
        "patient_named", "appointments", f"patient_id IS NOT NULL OR status IN ({HOLD_STATUSES})"
    )
    op.create_check_constraint("hold_complete", "appointments", "status <> 'held' OR held_until IS NOT NULL")
    _exclusion_constraints(HOLDING)
    _record_freed_time(HOLDING)
    # The worker's sweep: holds past their time, oldest first.
    op.create_index(
        "ix_appointments_holds_lapsing",
        "appointments",
        ["held_until"],
        postgresql_where=sa.text("status = 'held'"),
    )


def downgrade() -> None:
    op.drop_index("ix_appointments_holds_lapsing", "appointments")
    op.execute(f"DELETE FROM appointments WHERE status IN ({HOLD_STATUSES})")
    _record_freed_time(OLD_HOLDING)
    _exclusion_constraints(OLD_HOLDING)
    op.drop_constraint("ck_appointments_hold_complete", "appointments")
    op.drop_constraint("ck_appointments_patient_named", "appointments")
    op.drop_constraint("ck_appointments_status_known", "appointments")
    op.create_check_constraint("status_known", "appointments", f"status IN ({OLD_STATUSES})")
    op.alter_column("appointments", "patient_id", nullable=False)
    op.drop_column("appointments", "hold_extended_at")
    op.drop_column("appointments", "held_until")
