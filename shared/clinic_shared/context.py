"""Per-request and per-message context: correlation id, causing message, trace parent.

Set by the HTTP middleware from `X-Request-ID`/`traceparent` and by the consumer from the envelope;
read by the logger (every line carries the correlation id) and by `Envelope.wrap` (every event
published while handling carries it on).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from uuid import UUID

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_causation_id: ContextVar[UUID | None] = ContextVar("causation_id", default=None)
_traceparent: ContextVar[str | None] = ContextVar("traceparent", default=None)


def correlation_id() -> str | None:
    return _correlation_id.get()


def causation_id() -> UUID | None:
    return _causation_id.get()


def traceparent() -> str | None:
    return _traceparent.get()


@contextmanager
def bound(
    *, correlation_id: str | None, causation_id: UUID | None = None, traceparent: str | None = None
) -> Iterator[None]:
    tokens = (
        _correlation_id.set(correlation_id),
        _causation_id.set(causation_id),
        _traceparent.set(traceparent),
    )
    try:
        yield
    finally:
        _correlation_id.reset(tokens[0])
        _causation_id.reset(tokens[1])
        _traceparent.reset(tokens[2])
