"""Event contracts: the envelope, the catalogue and their committed JSON Schemas."""

from clinic_shared.events.catalogue import BY_ROUTING_KEY, CATALOGUE
from clinic_shared.events.envelope import Envelope, Event, TraceContext

__all__ = ["BY_ROUTING_KEY", "CATALOGUE", "Envelope", "Event", "TraceContext"]
