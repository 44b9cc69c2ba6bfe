"""The plumbing tables every service database has: the outbox and the processed-messages record."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from clinic_shared.db import new_metadata

metadata = new_metadata()

# NOTIFY channel the outbox trigger signals on commit; the relay LISTENs on it.
OUTBOX_CHANNEL = "outbox_inserted"

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("message_id", Uuid, nullable=False, unique=True),
    Column("routing_key", Text, nullable=False),
    Column("body", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("published_at", DateTime(timezone=True)),
    Index("ix_outbox_pending", "next_attempt_at", "id", postgresql_where=text("published_at IS NULL")),
)

processed_messages = Table(
    "processed_messages",
    metadata,
    Column("consumer", Text, primary_key=True),
    Column("message_id", Uuid, primary_key=True),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Idempotency-Key answers (clinic_shared.idempotency): written in the transaction of the effect.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", Text, primary_key=True),
    Column("route", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("fingerprint", Text, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("char_length(key) BETWEEN 1 AND 255", name="key_length"),
    Index("ix_idempotency_keys_expires_at", "expires_at"),
)
