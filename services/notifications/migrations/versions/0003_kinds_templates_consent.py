"""Every kind of message (patients' and managers'), clinic templates with their versions, patients'
choices per channel and category, and the addresses that receive a clinic's alerts.

Messages gain who they are for (a patient, or a manager's address), their consent category, whether
they may wait out quiet hours, and the facts of the event that queued them (times, numbers; never
health data). The projection of appointments learns requested, rejected, completed and no-show visits."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.alter_column("messages", "patient_id", nullable=True)
    op.add_column("messages", sa.Column("audience", sa.Text, nullable=False, server_default="patient"))
    op.add_column("messages", sa.Column("category", sa.Text, nullable=False, server_default="care"))
    op.add_column("messages", sa.Column("urgent", sa.Boolean, nullable=False, server_default=sa.true()))
    op.add_column("messages", sa.Column("facts", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")))
    op.add_column("messages", sa.Column("to_address", sa.Text))
    op.add_column("messages", sa.Column("provider", sa.Text))
    op.add_column("messages", sa.Column("provider_message_id", sa.Text))
    op.add_column("messages", sa.Column("published_at", sa.DateTime(timezone=True)))
    # A sender's claim: which run holds the message and since when (a stuck one is claimed again);
    # the due time stays as planned, for the record.
    op.add_column("messages", sa.Column("claim", sa.Uuid))
    op.add_column("messages", sa.Column("claimed_at", sa.DateTime(timezone=True)))
    for column in ("audience", "category", "urgent"):
        op.alter_column("messages", column, server_default=None)
    op.create_check_constraint("audience_known", "messages", "audience IN ('patient', 'manager')")
    op.create_check_constraint("category_known", "messages", "category IN ('care', 'marketing', 'alert')")
    # A patient's message names the patient; a manager's alert goes to the clinic's alert recipients,
    # whose addresses (staff, not patients) are recorded in `to_address` when it is sent.
    op.create_check_constraint(
        "addressed",
        "messages",
        "(audience = 'patient' AND patient_id IS NOT NULL AND to_address IS NULL AND category <> 'alert')"
        " OR (audience = 'manager' AND patient_id IS NULL AND category = 'alert')",
    )
    op.create_index("ix_messages_clinic_created", "messages", ["clinic_id", "created_at"])
    op.create_index("ix_messages_sending", "messages", ["due_at"], postgresql_where=sa.text("status = 'sending'"))

    op.add_column("appointments", sa.Column("completed_at", sa.DateTime(timezone=True)))
    # Events of one visit may be handled out of order: its times are taken only from an event newer
    # than the one they came from, and a visit known only from its end (cancelled before its request
    # arrived) is kept, without times, so a late request cannot revive it.
    op.add_column("appointments", sa.Column("times_at", sa.DateTime(timezone=True)))
    op.alter_column("appointments", "starts_at", nullable=True)
    op.alter_column("appointments", "ends_at", nullable=True)
    # When booking last changed each consent: a choice made through a link counts only if newer.
    op.add_column("recipients", sa.Column("care_consent_changed_at", sa.DateTime(timezone=True)))
    op.add_column("recipients", sa.Column("marketing_consent_changed_at", sa.DateTime(timezone=True)))
    op.create_check_constraint(
        "status_known",
        "appointments",
        "status IN ('requested', 'confirmed', 'checked_in', 'completed', 'cancelled', 'rejected', 'no_show')",
    )

    op.create_table(
        "templates",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("clinic_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("locale", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        # NULL: this version puts the clinic back on the chain's default text.
        sa.Column("source", sa.Text),
        sa.Column("saved_by", sa.Text, nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("clinic_id", "kind", "channel", "locale", "version", name="uq_templates_version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="channel_known"),
    )

    op.create_table(
        "preferences",
        sa.Column("patient_id", sa.Uuid, primary_key=True),
        sa.Column("channel", sa.Text, primary_key=True),
        sa.Column("category", sa.Text, primary_key=True),
        sa.Column("allowed", sa.Boolean, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="channel_known"),
        sa.CheckConstraint("category IN ('care', 'marketing')", name="category_known"),
    )

    # A clinic's own timing rules; a clinic without a row follows the defaults (domain/schedule.py).
    op.create_table(
        "clinic_policies",
        sa.Column("clinic_id", sa.Uuid, primary_key=True),
        sa.Column("reminder_lead_hours", sa.Integer, nullable=False),
        sa.Column("quiet_start", sa.Time, nullable=False),
        sa.Column("quiet_end", sa.Time, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("reminder_lead_hours BETWEEN 1 AND 336", name="reminder_lead_in_range"),
    )
    op.create_table(
        "alert_recipients",
        sa.Column("clinic_id", sa.Uuid, primary_key=True),
        sa.Column("email", sa.Text, primary_key=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("alert_recipients")
    op.drop_table("clinic_policies")
    op.drop_table("preferences")
    op.drop_table("templates")
    op.drop_constraint(op.f("ck_appointments_status_known"), "appointments", type_="check")
    op.drop_column("recipients", "marketing_consent_changed_at")
    op.drop_column("recipients", "care_consent_changed_at")
    op.execute("DELETE FROM appointments WHERE starts_at IS NULL OR ends_at IS NULL")
    op.alter_column("appointments", "starts_at", nullable=False)
    op.alter_column("appointments", "ends_at", nullable=False)
    op.drop_column("appointments", "times_at")
    op.drop_column("appointments", "completed_at")
    op.drop_index("ix_messages_sending", "messages")
    op.drop_index("ix_messages_clinic_created", "messages")
    for name in ("addressed", "category_known", "audience_known"):
        op.drop_constraint(op.f(f"ck_messages_{name}"), "messages", type_="check")
    for column in ("claimed_at", "claim", "published_at",
                   "provider_message_id", "provider", "to_address", "facts", "urgent", "category",
                   "audience"):  # fmt: skip
        op.drop_column("messages", column)
    op.execute("DELETE FROM delivery_attempts WHERE message_id IN (SELECT id FROM messages WHERE patient_id IS NULL)")
    op.execute("DELETE FROM messages WHERE patient_id IS NULL")
    op.alter_column("messages", "patient_id", nullable=False)
