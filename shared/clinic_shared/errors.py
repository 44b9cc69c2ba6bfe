"""The one base class of domain errors. Services map them to HTTP in their `api.py` (ERROR_STATUS)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """A condition the caller can act on. `code` is stable and machine-readable; `field` names the
    input at fault, when there is one; `details` carries what helps the caller act (e.g. the free
    times next to a taken one)."""

    code: str = "domain_error"

    def __init__(self, message: str, *, field: str | None = None, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = dict(details) if details else None


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class InvalidInput(DomainError):
    code = "invalid_input"
