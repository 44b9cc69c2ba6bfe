"""The envelope every message on the bus travels in, and the base class of every payload."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Self, TypeVar, cast
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from clinic_shared import context


class Event(BaseModel):
    """A payload: ids and facts, never health data.

    Consumers ignore unknown fields (`extra="ignore"`), so a producer can add optional fields
    without breaking anyone; the contract test guards everything else.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    version: ClassVar[int] = 1

    @classmethod
    def routing_key(cls) -> str:
        return f"{cls.event_type}.v{cls.version}"


P = TypeVar("P", bound=Event)


class TraceContext(BaseModel):
    """W3C trace context (https://www.w3.org/TR/trace-context/)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    traceparent: str = Field(pattern=r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
    tracestate: str | None = None

    @classmethod
    def child_of(cls, parent: str | None) -> Self:
        """A new span in the parent's trace, or a new trace when there is no valid parent."""
        trace_id = secrets.token_hex(16)
        if parent:
            parts = parent.split("-")
            if len(parts) == 4 and len(parts[1]) == 32:
                trace_id = parts[1]
        return cls(traceparent=f"00-{trace_id}-{secrets.token_hex(8)}-01")


class Envelope(BaseModel, Generic[P]):
    model_config = ConfigDict(extra="ignore", frozen=True)

    message_id: UUID
    type: str = Field(description="event type without version, e.g. booking.clinic.changed")
    version: int = Field(ge=1)
    occurred_at: AwareDatetime
    producer: str
    correlation_id: str = Field(max_length=128, description="the appointment, or the request that began it")
    causation_id: UUID | None = Field(default=None, description="message id of the event that caused this one")
    trace_context: TraceContext
    payload: P

    @property
    def routing_key(self) -> str:
        return f"{self.type}.v{self.version}"

    @classmethod
    def wrap(
        cls,
        payload: P,
        *,
        producer: str,
        correlation_id: str | None = None,
        causation_id: UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope[P]:
        """Wrap a payload, carrying the correlation and trace of the request or message being handled."""
        # Parametrised with the payload's own class, so serialising keeps the subclass's fields.
        return envelope_class(type(payload))(
            message_id=uuid4(),
            type=payload.event_type,
            version=payload.version,
            occurred_at=occurred_at or datetime.now(UTC),
            producer=producer,
            correlation_id=correlation_id or context.correlation_id() or str(uuid4()),
            causation_id=causation_id if causation_id is not None else context.causation_id(),
            trace_context=TraceContext.child_of(context.traceparent()),
            payload=payload,
        )

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def envelope_class(event_type: type[P]) -> type[Envelope[P]]:
    """`Envelope[event_type]`, built once per event type.

    pydantic holds parametrised classes only weakly, so after a garbage collection `Envelope[...]`
    built the model class anew (about 1.5 ms, on most publishes and consumes).
    """
    typed = _PARAMETRISED.get(event_type)
    if typed is None:
        typed = _PARAMETRISED.setdefault(event_type, Envelope[event_type])  # type: ignore[valid-type]
    return cast("type[Envelope[P]]", typed)


_PARAMETRISED: dict[type[Event], type[Envelope[Any]]] = {}
