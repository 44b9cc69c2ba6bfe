"""Bookable clinics built through the booking API, as an admin would (see the integration conftest):
clinic, rooms, devices, treatment, practitioners with a credential and working hours.

Three kinds of clinic:
  * search: weekday hours 09:00-17:00, 5 practitioners, 3 rooms, 3 devices, about two thirds of its
    rooms booked for the next 100 days (through POST /appointments), so searches read real busy
    intervals. S1 and the availability latency rows search here.
  * grid: open 06:00-22:00 every day, 2-year horizon, no minimum notice, `triples` of each resource:
    the free cells saturated booking (B1) fills, see slots.py.
  * refused: like grid, with one start a day fully booked for 50 days: every B2 request gets 409.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from booking_bench.slots import BookingGrid, GridClinic, Triple

ZONE = ZoneInfo("Europe/Amsterdam")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
ALL_DAYS = (*WEEKDAYS, "saturday", "sunday")
TREATMENT = {
    "name": "Microneedling",
    "numbing_minutes": 30,
    "procedure_minutes": {"face": 30, "neck": 15},
    "turnover_minutes": 15,
}
PHASES = (30, 30, 15)  # what TREATMENT means for one area ("face"); raw_app needs it
VISIT = timedelta(minutes=sum(PHASES))
GRID_STARTS = tuple((datetime.combine(date(2000, 1, 3), time(6)) + n * VISIT).time() for n in range(12))  # 06:00..19:45


@dataclass(frozen=True)
class BuiltClinic:
    clinic_id: str
    treatment_id: str
    practitioner_ids: tuple[str, ...]  # in UUID order: the order the service allocates in
    room_ids: tuple[str, ...]  # in name order, likewise
    device_ids: tuple[str, ...]

    def triples(self) -> tuple[Triple, ...]:
        return tuple(Triple(*ids) for ids in zip(self.practitioner_ids, self.room_ids, self.device_ids, strict=True))


@dataclass(frozen=True)
class SearchClinic:
    clinic: BuiltClinic
    first_day: date  # first day the searches ask for
    booked: int  # visits booked into it at set-up


@dataclass(frozen=True)
class BenchData:
    search: SearchClinic
    grid: BookingGrid


class Api:
    def __init__(self, client: httpx.AsyncClient, admin_token: str) -> None:
        self.client = client
        self.admin = {"Authorization": f"Bearer {admin_token}"}

    async def created(self, path: str, body: dict[str, Any], method: str = "POST") -> dict[str, Any]:
        response = await self.client.request(method, path, json=body, headers=self.admin)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        result: dict[str, Any] = response.json()
        return result

    async def book(self, body: dict[str, Any]) -> int:
        response = await self.client.post("/appointments", json=body)
        if response.status_code not in (201, 409):
            raise RuntimeError(f"POST /appointments: {response.status_code} {response.text}")
        return response.status_code


def _hours(days: tuple[str, ...], opens: str, closes: str) -> dict[str, list[dict[str, str]]]:
    return {day: [{"opens": opens, "closes": closes}] for day in days}


async def build_clinic(
    api: Api,
    *,
    name: str,
    hours: dict[str, list[dict[str, str]]],
    policy: dict[str, int],
    resources: int,
    practitioners: int,
) -> BuiltClinic:
    today = datetime.now(UTC).date()
    clinic = await api.created(
        "/clinics",
        {
            "name": f"{name} {uuid.uuid4().hex[:6]}",
            "address": {"line1": "Herengracht 1", "city": "Amsterdam", "postal_code": "1015 BS", "country": "NL"},
            "timezone": ZONE.key,
            "phone": "+31 20 555 0100",
            "opening_hours": hours,
            "booking_policy": policy,
        },
    )
    clinic_id = clinic["id"]
    # Zero-padded names: the service orders rooms and devices by name, and so do the triples.
    rooms = [
        (await api.created(f"/clinics/{clinic_id}/rooms", {"name": f"Room {n:02d}"}))["id"] for n in range(resources)
    ]
    devices = [
        (await api.created(f"/clinics/{clinic_id}/devices", {"name": f"Pen {n:02d}", "model": "Pen 4"}))["id"]
        for n in range(resources)
    ]
    treatment = await api.created(f"/clinics/{clinic_id}/treatments", TREATMENT)
    practitioner_ids = []
    for number in range(practitioners):
        practitioner = await api.created(
            "/practitioners", {"name": f"{name} practitioner {number}", "profession": "dermatologist"}
        )
        await api.created(
            f"/practitioners/{practitioner['id']}/credentials",
            {
                "number": f"MN-{uuid.uuid4().hex[:8]}",
                "issuer": "Board",
                "valid_from": str(today - timedelta(days=30)),
                "valid_to": str(today + timedelta(days=800)),
            },
        )
        await api.created(f"/practitioners/{practitioner['id']}/clinics/{clinic_id}", hours, method="PUT")
        practitioner_ids.append(practitioner["id"])
    return BuiltClinic(
        clinic_id=clinic_id,
        treatment_id=treatment["id"],
        practitioner_ids=tuple(sorted(practitioner_ids, key=uuid.UUID)),
        room_ids=tuple(rooms),
        device_ids=tuple(devices),
    )


def _booking(clinic: BuiltClinic, starts_at: datetime, practitioner_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "clinic_id": clinic.clinic_id,
        "treatment_id": clinic.treatment_id,
        "areas": ["face"],
        "starts_at": starts_at.isoformat(),
        "patient": {"display_name": "Set-up Patient", "email": "setup@example.org", "care_messages_consent": True},
        "consent": {"accepted": True, "text_version": "2026-11"},
    }
    if practitioner_id is not None:
        body["practitioner_id"] = practitioner_id
    return body


async def build_search_clinic(api: Api, *, days: int = 100) -> SearchClinic:
    """Two visits at each of the six visit-long starts of every weekday (rooms 2/3 busy), spread over
    all five practitioners, booked through the API so they pass the service's own rules."""
    clinic = await build_clinic(
        api,
        name="Bench search",
        hours=_hours(WEEKDAYS, "09:00", "17:00"),
        policy={"slot_grid_minutes": 15, "min_notice_minutes": 60, "horizon_days": 120},
        resources=3,
        practitioners=5,
    )
    first_day = datetime.now(UTC).date() + timedelta(days=2)
    gate = asyncio.Semaphore(8)
    booked = 0

    async def book_day(day: date) -> None:
        nonlocal booked
        async with gate:
            for slot in range(6):
                starts_at = datetime.combine(day, time(9), ZONE) + slot * VISIT
                for seat in range(2):
                    practitioner = clinic.practitioner_ids[
                        (day.toordinal() + slot + seat) % len(clinic.practitioner_ids)
                    ]
                    if await api.book(_booking(clinic, starts_at, practitioner)) == 201:
                        booked += 1

    await asyncio.gather(
        *(book_day(first_day + timedelta(days=n)) for n in range(days) if (first_day + timedelta(days=n)).weekday() < 5)
    )
    return SearchClinic(clinic=clinic, first_day=first_day, booked=booked)


async def build_grid(api: Api, *, clinics: int, triples: int, days: int, refused_days: int = 50) -> BookingGrid:
    open_all_week = _hours(ALL_DAYS, "06:00", "22:00")
    policy = {"slot_grid_minutes": 15, "min_notice_minutes": 0, "horizon_days": 730}
    built = [
        await build_clinic(
            api, name=f"Bench grid {n}", hours=open_all_week, policy=policy, resources=triples, practitioners=triples
        )
        for n in range(clinics)
    ]
    refused = await build_clinic(
        api, name="Bench refused", hours=open_all_week, policy=policy, resources=3, practitioners=3
    )
    first_day = datetime.now(UTC).date() + timedelta(days=2)
    # Fill 08:30 on each of the refused clinic's first days with all three practitioners, rooms, devices.
    refused_starts = []
    for n in range(refused_days):
        starts_at = datetime.combine(first_day + timedelta(days=n), GRID_STARTS[2], ZONE)
        for _ in range(3):
            if await api.book(_booking(refused, starts_at)) != 201:
                raise RuntimeError(f"could not fill {starts_at.isoformat()} in the refused clinic")
        refused_starts.append(starts_at.isoformat())
    return BookingGrid(
        clinics=tuple(GridClinic(c.clinic_id, c.treatment_id, c.triples()) for c in built),
        first_day=first_day,
        days=days,
        starts=GRID_STARTS,
        zone=ZONE,
        refused_clinic=GridClinic(refused.clinic_id, refused.treatment_id, refused.triples()),
        refused_starts=tuple(refused_starts),
    )


async def build_all(base_url: str, admin_token: str, *, clinics: int, triples: int, days: int) -> BenchData:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        api = Api(client, admin_token)
        search = await build_search_clinic(api)
        grid = await build_grid(api, clinics=clinics, triples=triples, days=days)
    return BenchData(search=search, grid=grid)
