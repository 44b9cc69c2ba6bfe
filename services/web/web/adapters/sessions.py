"""Sessions kept in PostgreSQL. The browser holds only a random token in an HttpOnly cookie; the table
holds its SHA-256, so the table alone opens no session. A row carries its own idle and absolute
limits, checked in the one statement that loads it."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, DateTime, Integer, Table, Text, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

from clinic_shared.db import new_metadata

metadata = new_metadata()
sessions = Table(
    "sessions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("data", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("idle_seconds", Integer, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# Every page asks it: built once, not on each request.
_LOAD = select(sessions.c.id, sessions.c.data, sessions.c.last_seen_at).where(
    sessions.c.id == bindparam("id"),
    sessions.c.expires_at > func.now(),
    sessions.c.last_seen_at + func.make_interval(0, 0, 0, 0, 0, 0, sessions.c.idle_seconds) > func.now(),
)

# A session's idle clock is moved on at most this often, not on every request.
TOUCH_EVERY = timedelta(seconds=60)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class StoredSession:
    id: str
    data: dict[str, Any]
    last_seen_at: datetime


class SessionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self, token: str) -> StoredSession | None:
        """The session behind this cookie, unless it ended or ran past its idle or absolute limit."""
        async with self._engine.connect() as connection:
            row = (await connection.execute(_LOAD, {"id": digest(token)})).first()
        return StoredSession(id=row.id, data=dict(row.data), last_seen_at=row.last_seen_at) if row else None

    async def create(self, data: dict[str, Any], *, idle: timedelta, absolute: timedelta, replacing: str | None) -> str:
        """A new session (and its cookie token); the one it replaces, at sign-in, ends in the same step."""
        token = new_token()
        async with self._engine.begin() as connection:
            if replacing is not None:
                await connection.execute(delete(sessions).where(sessions.c.id == replacing))
            # Sessions that ended are deleted as new ones begin: the table does not grow with history.
            await connection.execute(delete(sessions).where(sessions.c.expires_at < func.now() - timedelta(days=1)))
            await connection.execute(
                insert(sessions).values(
                    id=digest(token), data=data, idle_seconds=int(idle.total_seconds()),
                    expires_at=func.now() + absolute,
                )
            )  # fmt: skip
        return token

    async def save(self, session_id: str, data: dict[str, Any]) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(sessions).where(sessions.c.id == session_id).values(data=data, last_seen_at=func.now())
            )

    async def touch(self, session_id: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(sessions).where(sessions.c.id == session_id).values(last_seen_at=func.now())
            )

    async def end(self, session_id: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(delete(sessions).where(sessions.c.id == session_id))
