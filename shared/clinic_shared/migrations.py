"""Alembic support shared by the services: the env.py body, frozen plumbing DDL, programmatic upgrade."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.operations import Operations
from sqlalchemy import BigInteger, Column, DateTime, Identity, Integer, MetaData, Text, Uuid, func, pool, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from clinic_shared.db import new_metadata
from clinic_shared.tables import OUTBOX_CHANNEL


def create_plumbing_v1(op: Operations) -> None:
    """The outbox and processed-messages tables as of version 1.

    Migrations must not change when the models do, so this DDL is frozen here rather than derived
    from `clinic_shared.tables`; a later change to the plumbing gets a `create_plumbing_v2`.
    """
    op.create_table(
        "outbox",
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("message_id", Uuid, nullable=False, unique=True),
        Column("routing_key", Text, nullable=False),
        Column("body", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
        Column("published_at", DateTime(timezone=True)),
    )
    op.create_index(
        "ix_outbox_pending", "outbox", ["next_attempt_at", "id"], postgresql_where=text("published_at IS NULL")
    )
    # NOTIFY is delivered at commit and never for a rolled-back insert: exactly the relay's wake-up.
    op.execute(
        f"""
        CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('{OUTBOX_CHANNEL}', ''); RETURN NULL; END $$
        """
    )
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()"
    )
    op.create_table(
        "processed_messages",
        Column("consumer", Text, primary_key=True),
        Column("message_id", Uuid, primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def drop_plumbing_v1(op: Operations) -> None:
    op.drop_table("processed_messages")
    op.execute("DROP TRIGGER outbox_notify ON outbox")
    op.execute("DROP FUNCTION outbox_notify()")
    op.drop_table("outbox")


def run_env(metadatas: list[MetaData]) -> None:
    """The whole body of a service's `migrations/env.py`."""
    # One MetaData carrying the naming convention: Alembic applies a convention to `op.create_table`
    # only when target_metadata is a single MetaData.
    target_metadata = new_metadata()
    for metadata in metadatas:
        for table in metadata.tables.values():
            table.to_metadata(target_metadata)
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic needs sqlalchemy.url; run it through `clinic-ops migrate`")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(run)
        await engine.dispose()

    asyncio.run(run_async())


def alembic_config(service_root: Path, database_url: str) -> Config:
    config = Config(str(service_root / "alembic.ini"))
    config.set_main_option("script_location", str(service_root / "migrations"))
    # ConfigParser interpolation would eat a '%' in a password.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(service_root: Path, database_url: str, revision: str = "head") -> None:
    """Run from a thread or a plain process: Alembic's env runs its own event loop."""
    command.upgrade(alembic_config(service_root, database_url), revision)


def create_idempotency_v1(op: Operations) -> None:
    """The Idempotency-Key answers (`clinic_shared.idempotency`) as of version 1; frozen like the plumbing."""
    op.create_table(
        "idempotency_keys",
        Column("scope", Text, primary_key=True),
        Column("route", Text, primary_key=True),
        Column("key", Text, primary_key=True),
        Column("fingerprint", Text, nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("body", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("expires_at", DateTime(timezone=True), nullable=False),
    )
    op.create_check_constraint("key_length", "idempotency_keys", "char_length(key) BETWEEN 1 AND 255")
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])


def drop_idempotency_v1(op: Operations) -> None:
    op.drop_table("idempotency_keys")
