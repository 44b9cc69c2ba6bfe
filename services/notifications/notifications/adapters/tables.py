"""Notifications' tables as SQLAlchemy Core objects (the migrations hold the frozen DDL)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    Table,
    Text,
    Time,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from clinic_shared.db import new_metadata

metadata = new_metadata()

recipients = Table(
    "recipients",
    metadata,
    Column("patient_id", Uuid, primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("email", Text),
    Column("phone", Text),
    Column("preferred_channel", Text, nullable=False),
    Column("locale", Text, nullable=False),
    Column("care_messages_consent", Boolean, nullable=False),
    Column("marketing_consent", Boolean, nullable=False),
    Column("erased_at", DateTime(timezone=True)),
    Column("care_consent_changed_at", DateTime(timezone=True)),
    Column("marketing_consent_changed_at", DateTime(timezone=True)),
)

appointments = Table(
    "appointments",
    metadata,
    Column("appointment_id", Uuid, primary_key=True),
    Column("clinic_id", Uuid, nullable=False),
    Column("patient_id", Uuid, nullable=False),
    Column("starts_at", DateTime(timezone=True)),
    Column("ends_at", DateTime(timezone=True)),
    Column("areas", ARRAY(Text), nullable=False),
    Column("status", Text, nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Column("times_at", DateTime(timezone=True)),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("dedupe_key", Text, nullable=False, unique=True),
    Column("patient_id", Uuid),
    Column("appointment_id", Uuid),
    Column("clinic_id", Uuid, nullable=False),
    Column("kind", Text, nullable=False),
    Column("audience", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("facts", JSONB, nullable=False),
    Column("to_address", Text),
    Column("channel", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("provider", Text),
    Column("provider_message_id", Text),
    Column("published_at", DateTime(timezone=True)),
    Column("claim", Uuid),
    Column("claimed_at", DateTime(timezone=True)),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("message_id", Uuid, ForeignKey("messages.id"), nullable=False),
    Column("attempted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("channel", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("provider_message_id", Text),
    Column("status", Text, nullable=False),
    Column("error", Text),
)

templates = Table(
    "templates",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("clinic_id", Uuid, nullable=False),
    Column("kind", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("locale", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("source", Text),
    Column("saved_by", Text, nullable=False),
    Column("saved_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

preferences = Table(
    "preferences",
    metadata,
    Column("patient_id", Uuid, primary_key=True),
    Column("channel", Text, primary_key=True),
    Column("category", Text, primary_key=True),
    Column("allowed", Boolean, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

alert_recipients = Table(
    "alert_recipients",
    metadata,
    Column("clinic_id", Uuid, primary_key=True),
    Column("email", Text, primary_key=True),
    Column("added_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

clinic_policies = Table(
    "clinic_policies",
    metadata,
    Column("clinic_id", Uuid, primary_key=True),
    Column("reminder_lead_hours", Integer, nullable=False),
    Column("quiet_start", Time, nullable=False),
    Column("quiet_end", Time, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
