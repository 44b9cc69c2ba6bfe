"""`Idempotency-Key` on creating requests (DESIGN.md §4, after the IETF draft and Stripe).

A key is scoped to the caller and the route, and its answer is written in the transaction of the
effect, so an answer exists exactly when the effect committed:

    async with uow:
        store = IdempotencyStore(uow.session)
        if replay := await store.claim(scope=caller, route="POST /appointments", key=key, fingerprint=fp):
            return replay
        appointment = await book_visit(...)
        await store.remember(scope=caller, route=..., key=key, fingerprint=fp, status_code=201, body=answer)
        await uow.commit()

`claim` takes a transaction-scoped advisory lock on the key without waiting: while the first request's
transaction is open, a retry finds the lock taken and is told so (409) instead of queueing behind it.
The lock goes with the commit or the rollback; a first attempt that rolled back leaves the key free.

The caller decides what `remember` stores, and it is replayed to anyone holding the key for a day and
kept in plain JSON: store the status and what the client needs to find the result (an id, a state,
a link), never health data, names or contact details. A client that wants more reads it through the
ordinary, authorised route.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Boolean, ColumnElement, delete, func, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from clinic_shared.db import violated_constraint
from clinic_shared.errors import Conflict, InvalidInput
from clinic_shared.tables import idempotency_keys

HEADER = "Idempotency-Key"
DEFAULT_TTL = timedelta(hours=24)

# Printable ASCII, as the IETF draft's sf-string allows, and Stripe's 255-character ceiling.
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")


class InvalidIdempotencyKey(InvalidInput):
    code = "invalid_idempotency_key"


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


def fingerprint(body: Mapping[str, Any] | bytes) -> str:
    """SHA-256 hex of the request body: raw bytes as they are, a parsed body as canonical JSON, so
    that key order and spacing do not count and every value does."""
    if isinstance(body, bytes):
        return hashlib.sha256(body).hexdigest()
    canonical = json.dumps(dict(body), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyStore:
    """Keys and answers in the caller's session; the caller's transaction commits them with the effect."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim(self, *, scope: str, route: str, key: str, fingerprint: str) -> StoredResponse | None:
        """The first answer to replay, or None when the caller should do the work now."""
        _check(key)
        held = await self._session.scalar(
            select(func.pg_try_advisory_xact_lock(_lock_id(scope, route, key), type_=Boolean))
        )
        if not held:
            raise IdempotencyKeyInUse("a request with this key is still being processed; retry later", field=HEADER)
        row = (
            await self._session.execute(
                select(
                    idempotency_keys.c.fingerprint,
                    idempotency_keys.c.status_code,
                    idempotency_keys.c.body,
                    (idempotency_keys.c.expires_at <= func.now()).label("expired"),
                ).where(_identifies(scope, route, key))
            )
        ).one_or_none()
        if row is None:
            return None
        if row.expired:
            await self._session.execute(delete(idempotency_keys).where(_identifies(scope, route, key)))
            return None
        if row.fingerprint != fingerprint:
            raise IdempotencyKeyReused("this key was used with a different request body", field=HEADER)
        return StoredResponse(status_code=row.status_code, body=row.body)

    async def remember(
        self,
        *,
        scope: str,
        route: str,
        key: str,
        fingerprint: str,
        status_code: int,
        body: Any,
        ttl: timedelta = DEFAULT_TTL,
    ) -> None:
        """Store the answer to replay; `body` is JSON the caller chose, free of health data."""
        _check(key)
        answer = insert(idempotency_keys).values(
            scope=scope,
            route=route,
            key=key,
            fingerprint=fingerprint,
            status_code=status_code,
            body=body,
            expires_at=func.now() + ttl,
        )
        try:
            await self._session.execute(answer)
        except IntegrityError as error:
            # Only without a claim first (or under a snapshot older than the other commit) can
            # another request's answer already be there.
            if violated_constraint(error) == idempotency_keys.primary_key.name:
                raise IdempotencyKeyInUse("another request with this key has already answered", field=HEADER) from error
            raise


async def prune_idempotency_keys(bind: AsyncConnection | AsyncEngine, *, batch: int = 5_000) -> int:
    """Delete up to `batch` expired keys; given a connection, the caller's transaction commits it."""
    if isinstance(bind, AsyncEngine):
        async with bind.begin() as connection:
            return await prune_idempotency_keys(connection, batch=batch)
    keys = list(idempotency_keys.primary_key.columns)
    expired = (
        select(*keys).where(idempotency_keys.c.expires_at <= func.now()).limit(batch).with_for_update(skip_locked=True)
    )
    result = await bind.execute(delete(idempotency_keys).where(tuple_(*keys).in_(expired)))
    return result.rowcount or 0


def _check(key: str) -> None:
    if not _VALID_KEY.fullmatch(key):
        raise InvalidIdempotencyKey("the key must be 1 to 255 printable ASCII characters", field=HEADER)


def _identifies(scope: str, route: str, key: str) -> ColumnElement[bool]:
    return (idempotency_keys.c.scope == scope) & (idempotency_keys.c.route == route) & (idempotency_keys.c.key == key)


def _lock_id(scope: str, route: str, key: str) -> int:
    """A signed 64-bit advisory-lock id for the key; JSON keeps ("a|b", "c") and ("a", "b|c") apart."""
    digest = hashlib.sha256(json.dumps([scope, route, key]).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def prune_expired_keys(session_factory: async_sessionmaker[AsyncSession], settings: object) -> None:
    """Worker job (`PeriodicJob`) for a service whose database has the idempotency table."""
    del settings  # the expiry is stored on each row
    async with session_factory() as session, session.begin():
        await prune_idempotency_keys(await session.connection())
