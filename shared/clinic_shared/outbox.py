"""Transactional outbox: an event is a row written in the same transaction as the change it announces,
and a relay publishes committed rows (docs/adr/0002-outbox-and-relay.md).

The relay claims a batch with `FOR UPDATE SKIP LOCKED` (so several relays share the work without
publishing a row twice at the same time), publishes the batch with confirms, and marks rows sent in
the same transaction only after the broker confirmed them. A relay that dies between confirm and
mark leaves the rows unmarked: they are published again, and consumers dedupe on message id.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, DeliveryError, PublishError
from sqlalchemy import delete, func, insert, select, tuple_, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from clinic_shared.db import asyncpg_dsn
from clinic_shared.events.envelope import Envelope, Event
from clinic_shared.logging import get_logger
from clinic_shared.metrics import EVENTS_PUBLISHED, OUTBOX_LAG, OUTBOX_PENDING
from clinic_shared.tables import OUTBOX_CHANNEL, outbox, processed_messages

if TYPE_CHECKING:  # the broker's package imports this module
    from clinic_shared.messaging.broker import Broker

log = get_logger(__name__)

# An unroutable or refused row waits this long before its next try, doubling up to the cap; an
# outage of the whole broker does not move rows, it pauses the relay instead.
ROW_BACKOFF_BASE_S = 1.0
ROW_BACKOFF_CAP_S = 300.0


class Outbox:
    """Collects the events of one unit of work; `flush` writes them into the caller's transaction."""

    def __init__(self, *, producer: str) -> None:
        self._producer = producer
        self._pending: list[Envelope[Any]] = []

    def add(self, payload: Event, *, correlation_id: str | None = None) -> Envelope[Any]:
        envelope = Envelope.wrap(payload, producer=self._producer, correlation_id=correlation_id)
        self._pending.append(envelope)
        return envelope

    async def flush(self, session: AsyncSession) -> None:
        if not self._pending:
            return
        rows = [
            {"message_id": env.message_id, "routing_key": env.routing_key, "body": env.to_json_dict()}
            for env in self._pending
        ]
        await session.execute(insert(outbox), rows)
        self._pending.clear()


@dataclass(frozen=True)
class OutboxLag:
    pending: int
    oldest_age_s: float


async def measure_lag(connection: AsyncConnection | AsyncSession) -> OutboxLag:
    row = (
        await connection.execute(
            select(
                func.count(),
                func.coalesce(func.extract("epoch", func.now() - func.min(outbox.c.created_at)), 0),
            ).where(outbox.c.published_at.is_(None))
        )
    ).one()
    return OutboxLag(pending=int(row[0]), oldest_age_s=float(row[1]))


async def prune_plumbing(engine: AsyncEngine, *, retention_hours: int, batch: int = 5_000) -> int:
    """Delete published outbox rows and processed-message records older than the retention.

    Published rows still hold whole event bodies (a patient's contact details among them), and the
    dedupe record only has to outlive any plausible redelivery. Deletes go in batches so a large
    backlog never holds long locks.
    """
    removed = 0
    async with engine.begin() as connection:
        for table, column in ((outbox, outbox.c.published_at), (processed_messages, processed_messages.c.processed_at)):
            keys = list(table.primary_key.columns)
            expired = (
                select(*keys)
                .where(column < func.now() - func.make_interval(0, 0, 0, 0, retention_hours))
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
            result = await connection.execute(delete(table).where(tuple_(*keys).in_(expired)))
            removed += result.rowcount or 0
    return removed


async def export_lag_metrics(engine: AsyncEngine, *, service: str) -> None:
    async with engine.connect() as connection:
        lag = await measure_lag(connection)
    OUTBOX_PENDING.labels(service).set(lag.pending)
    OUTBOX_LAG.labels(service).set(lag.oldest_age_s)


class OutboxRelay:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        broker: Broker,
        service: str,
        database_url: str,
        batch_size: int = 100,
        poll_interval_s: float = 1.0,
    ) -> None:
        self._engine = engine
        self._broker = broker
        self._service = service
        self._dsn = asyncpg_dsn(database_url)
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self.running = False

    async def run(self) -> None:
        """Publish until cancelled: wake on NOTIFY, poll as a fallback, pause while the broker is away."""
        listener = asyncio.create_task(self._listen(), name=f"{self._service}-outbox-listen")
        self.running = True
        failures = 0
        try:
            while True:
                # Cleared before claiming, not after: a NOTIFY that arrives while a batch is being
                # published then wakes the next round at once instead of being wiped out.
                self._wake.clear()
                try:
                    claimed = await self.publish_pending()
                    failures = 0
                except BrokerUnavailable as error:
                    failures += 1
                    log.warning("outbox_relay_paused", reason=str(error), failures=failures)
                    await asyncio.sleep(min(0.5 * 2**failures, 10.0))
                    continue
                except (OSError, DBAPIError) as error:
                    failures += 1
                    log.warning("outbox_relay_database_error", error=type(error).__name__, failures=failures)
                    await asyncio.sleep(min(0.5 * 2**failures, 10.0))
                    continue
                if claimed < self._batch_size:
                    # asyncio.timeout, not wait_for: on Python 3.11, wait_for loses a cancellation that
                    # arrives as the event is set, and the worker's shutdown then waits for ever.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._poll_interval_s):
                            await self._wake.wait()
        finally:
            self.running = False
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def publish_pending(self) -> int:
        """Claim, publish and mark one batch; returns how many rows were claimed."""
        async with self._engine.begin() as connection:
            rows = (
                await connection.execute(
                    select(outbox.c.id, outbox.c.routing_key, outbox.c.body)
                    .where(outbox.c.published_at.is_(None), outbox.c.next_attempt_at <= func.now())
                    .order_by(outbox.c.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            results = await asyncio.gather(
                *(self._broker.publish_event(row.body, routing_key=row.routing_key) for row in rows),
                return_exceptions=True,
            )
            confirmed = [row for row, result in zip(rows, results, strict=True) if result is None]
            lost = [r for r in results if isinstance(r, BROKER_UNAVAILABLE) and not isinstance(r, DeliveryError)]
            refused = [
                (row, r)
                for row, r in zip(rows, results, strict=True)
                if isinstance(r, BaseException)
                and (isinstance(r, DeliveryError) or not isinstance(r, BROKER_UNAVAILABLE))
            ]
            if confirmed:
                await self._mark_published(connection, [row.id for row in confirmed])
                for row in confirmed:
                    EVENTS_PUBLISHED.labels(self._service, row.routing_key).inc()
            for row, error in refused:
                await self._defer(connection, row.id, error)
        if lost:
            # Unconfirmed because the broker is unreachable or slow: the rows stay as they are.
            raise BrokerUnavailable(f"{len(lost)} publishes unconfirmed: {type(lost[0]).__name__}")
        return len(rows)

    async def _mark_published(self, connection: AsyncConnection, ids: list[int]) -> None:
        await connection.execute(update(outbox).where(outbox.c.id.in_(ids)).values(published_at=func.now()))

    async def _defer(self, connection: AsyncConnection, row_id: int, error: BaseException) -> None:
        """The broker refused this row, or the row itself is bad: retry it later, record why."""
        if isinstance(error, PublishError):
            reason = "unroutable: no queue is bound for this routing key"
        elif isinstance(error, DeliveryError):
            reason = "nack: the broker refused the message"
        else:
            reason = f"unpublishable row: {type(error).__name__}"
        log.warning("outbox_row_deferred", outbox_id=row_id, reason=reason)
        backoff = func.least(ROW_BACKOFF_BASE_S * func.power(2, outbox.c.attempts), ROW_BACKOFF_CAP_S)
        await connection.execute(
            update(outbox)
            .where(outbox.c.id == row_id)
            .values(
                attempts=outbox.c.attempts + 1,
                last_error=reason,
                next_attempt_at=func.now() + func.make_interval(0, 0, 0, 0, 0, 0, backoff),
            )
        )

    async def _listen(self) -> None:
        """Hold a LISTEN connection, reconnecting after database restarts; polling covers the gaps."""
        while True:
            try:
                connection = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("outbox_listen_unavailable", error=type(error).__name__)
                await asyncio.sleep(self._poll_interval_s)
                continue
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _, lost=lost: lost.set())
            try:
                await connection.add_listener(OUTBOX_CHANNEL, lambda *_: self._wake.set())
                self._wake.set()  # rows may have arrived while we were not listening
                await lost.wait()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("outbox_listen_lost", error=type(error).__name__)
            finally:
                with contextlib.suppress(Exception):
                    await connection.close()
            await asyncio.sleep(self._poll_interval_s)


class BrokerUnavailable(RuntimeError):
    pass


# Failures that say "the broker is away or slow", not "this row is bad": the relay pauses and the
# rows wait untouched. Anything else a publish raises is the row's own problem and defers that row.
BROKER_UNAVAILABLE: tuple[type[BaseException], ...] = CONNECTION_EXCEPTIONS
