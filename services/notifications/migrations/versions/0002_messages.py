"""Recipients and appointments projected from booking's events, messages with a due time, and the
record of every delivery attempt. No health data is stored here."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0002"
down_revision = "0001"

MESSAGE_STATUSES = "'queued', 'sending', 'sent', 'failed_temporary', 'failed_permanent', 'cancelled'"


def upgrade() -> None:
    op.create_table(
        "recipients",
        sa.Column("patient_id", sa.Uuid, primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("phone", sa.Text),
        sa.Column("preferred_channel", sa.Text, nullable=False),
        sa.Column("locale", sa.Text, nullable=False),
        sa.Column("care_messages_consent", sa.Boolean, nullable=False),
        sa.Column("marketing_consent", sa.Boolean, nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "appointments",
        sa.Column("appointment_id", sa.Uuid, primary_key=True),
        sa.Column("clinic_id", sa.Uuid, nullable=False),
        sa.Column("patient_id", sa.Uuid, nullable=False, index=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("areas", ARRAY(sa.Text), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Uuid, primary_key=True),
        # One message per patient, appointment and kind, whatever an event's redelivery does.
        sa.Column("dedupe_key", sa.Text, nullable=False, unique=True),
        sa.Column("patient_id", sa.Uuid, nullable=False, index=True),
        sa.Column("appointment_id", sa.Uuid, index=True),
        sa.Column("clinic_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        sa.CheckConstraint(f"status IN ({MESSAGE_STATUSES})", name="status_known"),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="channel_known"),
    )
    op.create_index(
        "ix_messages_due", "messages", ["due_at"], postgresql_where=sa.text("status IN ('queued', 'failed_temporary')")
    )
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("message_id", sa.Uuid, sa.ForeignKey("messages.id"), nullable=False, index=True),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("provider_message_id", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
        sa.CheckConstraint("status IN ('sent', 'failed_temporary', 'failed_permanent')", name="status_known"),
    )


def downgrade() -> None:
    op.drop_table("delivery_attempts")
    op.drop_index("ix_messages_due", "messages")
    op.drop_table("messages")
    op.drop_table("appointments")
    op.drop_table("recipients")
