"""Messages are kept for the delivery record, then deleted: a message that ended (sent, failed for
good, cancelled) longer ago than the retention period goes, with its attempts, in small batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clinic_shared.logging import get_logger
from clinic_shared.runtime import SessionFactory
from notifications.adapters.repositories import Messages
from notifications.domain.messages import ENDED
from notifications.settings import NotificationsSettings

log = get_logger(__name__)
BATCH = 500


async def prune(session_factory: SessionFactory, settings: NotificationsSettings) -> int:
    """Returns how many messages it deleted."""
    cutoff = datetime.now(UTC) - timedelta(days=settings.retention_days)
    deleted = 0
    while True:
        async with session_factory() as session, session.begin():
            store = Messages(session)
            ids = await store.claim_ended(before=cutoff, ended=ENDED, limit=BATCH)
            if not ids:
                break
            await store.delete(ids)
            deleted += len(ids)
    if deleted:
        log.info("messages_pruned", count=deleted)
    return deleted


async def prune_job(session_factory: SessionFactory, settings: NotificationsSettings) -> None:
    """Worker job."""
    await prune(session_factory, settings)
