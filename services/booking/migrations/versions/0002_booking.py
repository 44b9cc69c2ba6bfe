"""Set-up, practitioners, treatments, patients and appointments held by exclusion constraints."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from clinic_shared.migrations import create_idempotency_v1, drop_idempotency_v1

revision = "0002"
down_revision = "0001"

# A visit holds its practitioner, room and device while requested, confirmed, checked in or done;
# cancelled, rejected and no-show visits free their time.
HOLDING = "status IN ('requested', 'confirmed', 'checked_in', 'completed')"


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", sa.Uuid, primary_key=True)


def _clinic() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("clinic_id", sa.Uuid, sa.ForeignKey("clinics.id"), nullable=False, index=True)


def _created() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    create_idempotency_v1(op)
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.add_column("clinics", sa.Column("booking_policy", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")))
    op.create_table(
        "clinic_closures",
        _id(),
        _clinic(),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("last_day", sa.Date, nullable=False),
        sa.Column("reason", sa.Text),
        sa.CheckConstraint("last_day >= first_day", name="ends_after_start"),
    )
    for table in ("rooms", "devices"):
        op.create_table(
            table,
            _id(),
            _clinic(),
            sa.Column("name", sa.Text, nullable=False),
            *([sa.Column("model", sa.Text)] if table == "devices" else []),
            sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
            _created(),
        )
        op.create_index(f"uq_{table}_clinic_name", table, ["clinic_id", sa.text("lower(name)")], unique=True)
    op.create_table(
        "practitioners",
        _id(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("profession", sa.Text, nullable=False),
        _created(),
        sa.CheckConstraint(
            "profession IN ('dermatologist', 'cosmetic_surgeon', 'trained_professional')", name="profession_known"
        ),
    )
    op.create_table(
        "credentials",
        _id(),
        sa.Column("practitioner_id", sa.Uuid, sa.ForeignKey("practitioners.id"), nullable=False, index=True),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=False),
        sa.Column("covers", ARRAY(sa.Text), nullable=False),
        sa.CheckConstraint("valid_to >= valid_from", name="valid_period"),
    )
    op.create_table(
        "practitioner_clinics",
        sa.Column("practitioner_id", sa.Uuid, sa.ForeignKey("practitioners.id"), primary_key=True),
        sa.Column("clinic_id", sa.Uuid, sa.ForeignKey("clinics.id"), primary_key=True),
        sa.Column("working_hours", JSONB, nullable=False),
    )
    op.create_table(
        "time_off",
        _id(),
        sa.Column("practitioner_id", sa.Uuid, sa.ForeignKey("practitioners.id"), nullable=False, index=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )
    op.create_table(
        "treatments",
        _id(),
        _clinic(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("numbing_minutes", sa.Integer, nullable=False),
        sa.Column("procedure_minutes", JSONB, nullable=False),
        sa.Column("turnover_minutes", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        _created(),
        sa.CheckConstraint("numbing_minutes BETWEEN 0 AND 120 AND turnover_minutes BETWEEN 0 AND 120", name="phases"),
    )
    op.create_table(
        "patients",
        _id(),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("phone", sa.Text),
        sa.Column("preferred_channel", sa.Text, nullable=False),
        sa.Column("locale", sa.Text, nullable=False),
        sa.Column("care_messages_consent", sa.Boolean, nullable=False),
        sa.Column("marketing_consent", sa.Boolean, nullable=False),
        sa.Column("consent_text_version", sa.Text, nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        _created(),
        sa.CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="reachable"),
    )
    op.create_table(
        "appointments",
        _id(),
        _clinic(),
        sa.Column("patient_id", sa.Uuid, sa.ForeignKey("patients.id"), nullable=False, index=True),
        sa.Column("treatment_id", sa.Uuid, sa.ForeignKey("treatments.id"), nullable=False),
        sa.Column("practitioner_id", sa.Uuid, sa.ForeignKey("practitioners.id"), nullable=False),
        sa.Column("room_id", sa.Uuid, sa.ForeignKey("rooms.id"), nullable=False),
        sa.Column("device_id", sa.Uuid, sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("areas", ARRAY(sa.Text), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("procedure_starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("procedure_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rejection_reason", sa.Text),
        sa.CheckConstraint(
            "status IN ('requested', 'confirmed', 'rejected', 'cancelled', 'checked_in', 'completed', 'no_show')",
            name="status_known",
        ),
        sa.CheckConstraint(
            "starts_at <= procedure_starts_at AND procedure_starts_at < procedure_ends_at"
            " AND procedure_ends_at <= ends_at",
            name="phases_in_order",
        ),
    )
    # Half-open ranges: a visit ending at 10:00 and one starting at 10:00 do not overlap.
    for resource, period in (
        ("room", "starts_at, ends_at"),
        ("practitioner", "procedure_starts_at, procedure_ends_at"),
        ("device", "procedure_starts_at, ends_at"),
    ):
        op.execute(
            f"ALTER TABLE appointments ADD CONSTRAINT ex_appointments_{resource} EXCLUDE USING gist "
            f"({resource}_id WITH =, tstzrange({period}, '[)') WITH &&) WHERE ({HOLDING})"
        )
    op.create_index("ix_appointments_clinic_starts", "appointments", ["clinic_id", "starts_at"])
    op.create_index(
        "ix_appointments_awaiting_supplies",
        "appointments",
        ["requested_at"],
        postgresql_where=sa.text("status = 'requested'"),
    )


def downgrade() -> None:
    for table in (
        "appointments",
        "patients",
        "treatments",
        "time_off",
        "practitioner_clinics",
        "credentials",
        "practitioners",
        "devices",
        "rooms",
        "clinic_closures",
    ):
        op.drop_table(table)
    op.drop_column("clinics", "booking_policy")
    drop_idempotency_v1(op)
