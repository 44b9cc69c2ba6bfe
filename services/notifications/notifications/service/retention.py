"""Messages are kept for the delivery record, then deleted: a message that ended (sent, failed for
good, cancelled) longer ago than the retention period goes, with its attempts, in small batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from clinic_shared.logging import get_logger
from clinic_shared.runtime import SessionFactory
from notifications.adapters.tables import delivery_attempts, messages
from notifications.settings import NotificationsSettings

log = get_logger(__name__)
BATCH = 500
ENDED = ("sent", "failed_permanent", "cancelled")


async def prune(session_factory: SessionFactory, settings: NotificationsSettings) -> int:
    """Worker job; returns how many messages it deleted."""
    cutoff = datetime.now(UTC) - timedelta(days=settings.retention_days)
    deleted = 0
    while True:
        async with session_factory() as session, session.begin():
            ids = list(
                await session.scalars(
                    select(messages.c.id)
                    .where(messages.c.status.in_(ENDED), messages.c.created_at < cutoff, messages.c.due_at < cutoff)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            if not ids:
                break
            await session.execute(delete(delivery_attempts).where(delivery_attempts.c.message_id.in_(ids)))
            await session.execute(delete(messages).where(messages.c.id.in_(ids)))
            deleted += len(ids)
    if deleted:
        log.info("messages_pruned", count=deleted)
    return deleted


async def prune_job(session_factory: SessionFactory, settings: NotificationsSettings) -> None:
    await prune(session_factory, settings)
