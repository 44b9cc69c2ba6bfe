"""A clinic's treatment rooms, microneedling devices and closed days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal
from uuid import UUID

from clinic_shared.errors import Conflict, InvalidInput

ResourceKind = Literal["room", "device"]


class ResourceNameTaken(Conflict):
    code = "resource_name_taken"


class InvalidClosure(InvalidInput):
    code = "invalid_closure"


@dataclass(frozen=True)
class Resource:
    """A room or a device: each holds one visit at a time."""

    id: UUID
    clinic_id: UUID
    kind: ResourceKind
    name: str
    model: str | None = None
    active: bool = True


@dataclass(frozen=True)
class Closure:
    """Days (inclusive, clinic local dates) the clinic takes no visits, e.g. public holidays."""

    id: UUID
    clinic_id: UUID
    first_day: date
    last_day: date
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise InvalidClosure("a closure cannot end before it starts", field="last_day")
        if (self.last_day - self.first_day).days > 366:
            raise InvalidClosure("a closure lasts at most a year", field="last_day")
