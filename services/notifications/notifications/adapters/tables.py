"""Notifications' tables as SQLAlchemy Core objects (the migrations hold the frozen DDL)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, DateTime, ForeignKey, Identity, Integer, Table, Text, Uuid, func
from sqlalchemy.dialects.postgresql import ARRAY

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
)

appointments = Table(
    "appointments",
    metadata,
    Column("appointment_id", Uuid, primary_key=True),
    Column("clinic_id", Uuid, nullable=False),
    Column("patient_id", Uuid, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("areas", ARRAY(Text), nullable=False),
    Column("status", Text, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("dedupe_key", Text, nullable=False, unique=True),
    Column("patient_id", Uuid, nullable=False),
    Column("appointment_id", Uuid),
    Column("clinic_id", Uuid, nullable=False),
    Column("kind", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
    Column("last_error", Text),
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
