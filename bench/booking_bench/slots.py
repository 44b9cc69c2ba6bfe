"""Which free slot the k-th booking request takes, so every booking in a measurement succeeds.

A saturated booking benchmark only measures successes if no two requests ever want the same room,
device or practitioner at the same time. The grid below hands out cells (clinic, day, start, resource
triple) in an order where two requests for the same clinic and day are `clinics * days` requests
apart: concurrent requests never compete, so the service's allocation ("first free practitioner,
room and device") never hits the exclusion constraint and never retries.

The same sequence is rendered for wrk (a Lua data file, `lua_data`) and built in Python for the
open-loop latency generator (`BookingGrid.body`), so both drive identical requests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

# What a patient sends; the same for every request (the service creates one patient per booking).
PATIENT: dict[str, Any] = {
    "display_name": "Bench Patient",
    "email": "bench@example.org",
    "preferred_channel": "email",
    "care_messages_consent": True,
}
CONSENT: dict[str, Any] = {"accepted": True, "text_version": "2026-11"}

Mode = Literal["app", "raw", "refused"]


@dataclass(frozen=True)
class Triple:
    """One practitioner, room and device that the service allocates together (they fill in lock step)."""

    practitioner_id: str
    room_id: str
    device_id: str


@dataclass(frozen=True)
class GridClinic:
    clinic_id: str
    treatment_id: str
    triples: tuple[Triple, ...]


@dataclass(frozen=True)
class BookingGrid:
    """Free cells for saturated booking: `len(clinics) * days * len(triples) * len(starts)` of them."""

    clinics: tuple[GridClinic, ...]
    first_day: date
    days: int
    starts: tuple[time, ...]  # local wall-clock starts, one visit apart so visits never overlap
    zone: ZoneInfo
    # Fully booked starts (ISO, with offset) of the refused-booking clinic: every request there gets 409.
    refused_clinic: GridClinic | None = None
    refused_starts: tuple[str, ...] = field(default=())

    @property
    def triples(self) -> int:
        return len(self.clinics[0].triples)

    @property
    def capacity(self) -> int:
        return len(self.clinics) * self.days * self.triples * len(self.starts)

    def cell(self, k: int) -> tuple[int, int, int, int]:
        """(clinic, day, triple, start) of the k-th booking; clinic varies fastest, then day."""
        clinic, rest = k % len(self.clinics), k // len(self.clinics)
        day, rest = rest % self.days, rest // self.days
        triple, start = rest % self.triples, rest // self.triples
        if start >= len(self.starts):
            raise IndexError(f"booking {k} is past the grid's capacity of {self.capacity}")
        return clinic, day, triple, start

    def starts_at(self, day: int, start: int) -> str:
        local = datetime.combine(self.first_day + timedelta(days=day), self.starts[start], self.zone)
        return local.isoformat()

    def body(self, mode: Mode, k: int) -> dict[str, Any]:
        """The JSON body of the k-th request: the service's `POST /appointments`, or the raw baseline's
        equivalent, which names the resources itself (it does no allocation)."""
        if mode == "refused":
            assert self.refused_clinic is not None
            clinic = self.refused_clinic
            starts_at = self.refused_starts[k % len(self.refused_starts)]
            triple = None
        else:
            c, day, t, s = self.cell(k)
            clinic = self.clinics[c]
            starts_at = self.starts_at(day, s)
            triple = clinic.triples[t]
        body: dict[str, Any] = {
            "clinic_id": clinic.clinic_id,
            "treatment_id": clinic.treatment_id,
            "areas": ["face"],
            "starts_at": starts_at,
        }
        if mode == "raw" and triple is not None:
            body |= {
                "practitioner_id": triple.practitioner_id,
                "room_id": triple.room_id,
                "device_id": triple.device_id,
            }
        return body | {"patient": PATIENT, "consent": CONSENT}

    def to_json(self) -> dict[str, Any]:
        return {
            "clinics": [
                {"clinic_id": c.clinic_id, "treatment_id": c.treatment_id, "triples": [t.__dict__ for t in c.triples]}
                for c in self.clinics
            ],
            "first_day": self.first_day.isoformat(),
            "days": self.days,
            "starts": [s.strftime("%H:%M") for s in self.starts],
            "zone": self.zone.key,
            "refused_clinic_id": self.refused_clinic.clinic_id if self.refused_clinic else None,
            "refused_starts": list(self.refused_starts),
        }


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for these ASCII values


def _lua_list(values: list[str]) -> str:
    return "{" + ", ".join(_lua_string(v) for v in values) + "}"


def lua_data(grid: BookingGrid) -> str:
    """A Lua chunk returning the grid, for bench/lua/booking.lua. Days carry their own UTC offset, so
    a start in summer time says +02:00 and in winter +01:00, exactly as `BookingGrid.starts_at` does."""
    day_prefix, day_offset = [], []
    for day in range(grid.days):
        local = datetime.combine(grid.first_day + timedelta(days=day), grid.starts[0], grid.zone)
        day_prefix.append(local.date().isoformat())
        day_offset.append(local.isoformat()[-6:])
    # The starts lie after any clock change of their day (06:00 and later), so one offset per day holds.
    for day in range(grid.days):
        for start in range(len(grid.starts)):
            iso = grid.starts_at(day, start)
            assert iso.endswith(day_offset[day]), (iso, day_offset[day])
    lines = [
        "-- generated by booking_bench.slots.lua_data; do not edit",
        "return {",
        f"  clinics = {_lua_list([c.clinic_id for c in grid.clinics])},",
        f"  treatments = {_lua_list([c.treatment_id for c in grid.clinics])},",
        "  triples = {",
        *(
            "    {"
            + ", ".join(
                "{" + ", ".join(_lua_string(v) for v in (t.practitioner_id, t.room_id, t.device_id)) + "}"
                for t in c.triples
            )
            + "},"
            for c in grid.clinics
        ),
        "  },",
        f"  n_triples = {grid.triples},",
        f"  days = {_lua_list(day_prefix)},",
        f"  offsets = {_lua_list(day_offset)},",
        f"  starts = {_lua_list([s.strftime('%H:%M') for s in grid.starts])},",
        f"  refused_clinic = {_lua_string(grid.refused_clinic.clinic_id if grid.refused_clinic else '')},",
        f"  refused_treatment = {_lua_string(grid.refused_clinic.treatment_id if grid.refused_clinic else '')},",
        f"  refused_starts = {_lua_list(list(grid.refused_starts))},",
        f"  patient = {_lua_string(json.dumps(PATIENT, separators=(',', ':')))},",
        f"  consent = {_lua_string(json.dumps(CONSENT, separators=(',', ':')))},",
        "}",
    ]
    return "\n".join(lines) + "\n"


def write_lua_data(grid: BookingGrid, path: Path) -> Path:
    path.write_text(lua_data(grid))
    return path
