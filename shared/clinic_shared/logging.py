"""Structured JSON logs: a constant event name, details as fields, the correlation id on every line.

A last processor drops fields whose names say they hold personal or health data, so a careless
`log.info("patient_created", email=...)` cannot leak a patient's details into the log store.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from clinic_shared import context

# Field names that must never reach a log line, whatever their value.
PERSONAL_FIELDS = frozenset(
    {
        "address", "body", "concerns", "date_of_birth", "display_name", "email", "first_name",
        "last_name", "name", "notes", "payload", "phone", "screening", "screening_answers",
        "skin_type", "to",
    }
)  # fmt: skip

EventDict = MutableMapping[str, Any]


def _add_context(_: Any, __: str, event_dict: EventDict) -> EventDict:
    if (correlation := context.correlation_id()) is not None:
        event_dict.setdefault("correlation_id", correlation)
    if (causation := context.causation_id()) is not None:
        event_dict.setdefault("causation_id", str(causation))
    return event_dict


def _redact_personal_fields(_: Any, __: str, event_dict: EventDict) -> EventDict:
    for key in PERSONAL_FIELDS.intersection(event_dict):
        event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(*, service: str, level: str = "INFO") -> None:
    """Route structlog and the standard library (uvicorn, aio-pika, alembic) into one JSON stream."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_context,
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _redact_personal_fields,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log would print query strings (search terms, tokens); our middleware logs requests.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every call's whole URL at INFO, query string included; failures surface as our own errors.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
