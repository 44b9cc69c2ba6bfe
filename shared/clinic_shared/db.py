"""Database base shared by the services: one naming convention, one way to build the engine."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

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


def create_engine(
    database_url: str,
    *,
    pool_size: int = 10,
    application_name: str = "clinic",
    ping_after_idle_s: float = 10.0,
) -> AsyncEngine:
    engine = create_async_engine(
        database_url,
        # Every connection, once opened, stays in the pool: an overflow above a smaller pool is closed
        # as soon as it is returned and reopened at the next burst (asyncpg's connection set-up with
        # its type introspection), which the booking benchmark counted in the hundreds per run.
        pool_size=pool_size,
        max_overflow=0,
        # Exception text travels into logs and error-queue headers; bound values may be personal data.
        hide_parameters=True,
        connect_args={"server_settings": {"application_name": application_name}},
    )
    _ping_when_idle(engine, after_s=ping_after_idle_s)
    return engine


def _ping_when_idle(engine: AsyncEngine, *, after_s: float) -> None:
    """Check a pooled connection before use only when it sat idle for `after_s`: a database restarted,
    or a connection dropped, in a quiet time then costs nobody a failed request.

    Not `pool_pre_ping`: with asyncpg that is three round trips (BEGIN, `;`, ROLLBACK) on every checkout,
    a quarter of a booking's. A connection in steady use that fails mid-request fails that request,
    as with the pre-ping, and SQLAlchemy then invalidates the whole pool.
    """
    dialect = engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_from(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _alive(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < after_s:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # The pool discards this connection and checks out another (a new one if need be).
                raise DisconnectionError("a pooled connection was closed while idle") from error
            raise


_IDLE_SINCE = "clinic_idle_since"


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


# Failures that say "another transaction got in the way", not "this request is wrong": PostgreSQL rolled
# the whole transaction back, and the same work tried again from the start can succeed.
TRANSIENT_SQLSTATES = {"40P01": "deadlock_detected", "40001": "serialization_failure"}


def transient_conflict(error: BaseException) -> str | None:
    """The condition name if `error` is a deadlock or serialization failure, else None."""
    if not isinstance(error, DBAPIError) or error.orig is None:
        return None
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig.__cause__, "sqlstate", None)
    return TRANSIENT_SQLSTATES.get(sqlstate) if isinstance(sqlstate, str) else None
