"""Database base shared by the services: one naming convention, one way to build the engine."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

# Constraint names are part of the contract with the repositories: they turn a violation of
# `ck_stock_lots_reserved_le_on_hand` into a domain error by name, so every name is predictable.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def create_engine(database_url: str, *, pool_size: int = 10, application_name: str = "clinic") -> AsyncEngine:
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        # Exception text travels into logs and error-queue headers; bound values may be personal data.
        hide_parameters=True,
        connect_args={"server_settings": {"application_name": application_name}},
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: use cases return the entities they committed without a reload.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def asyncpg_dsn(database_url: str) -> str:
    """The same database as a plain libpq DSN, for the raw asyncpg connection that LISTENs."""
    url: URL = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def violated_constraint(error: DBAPIError) -> str | None:
    """Name of the constraint a failed statement violated, for repositories to turn into domain errors."""
    cause = error.orig.__cause__ if error.orig is not None else None
    return getattr(cause, "constraint_name", None)
