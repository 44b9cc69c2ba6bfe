"""A message as planned and as attempted: plain values the use cases pass around."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

# Statuses of a message still to be sent; and of one that is over (kept for the record, then pruned).
WAITING = ("queued", "failed_temporary")
ENDED = ("sent", "failed_permanent", "cancelled")


@dataclass(frozen=True)
class Planned:
    """A message to queue once under its dedupe key (`patient:appointment:kind[:distinct]`)."""

    kind: str
    clinic_id: UUID
    due_at: datetime
    dedupe_key: str
    patient_id: UUID | None = None
    appointment_id: UUID | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    status: str = "queued"
    reason: str | None = None


@dataclass(frozen=True)
class Attempt:
    """One try with one provider."""

    provider: str
    status: str
    provider_message_id: str | None = None
    error: str | None = None
