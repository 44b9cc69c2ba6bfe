"""The raw baselines: a bare ASGI app (no framework, no ORM, no validation library) over an asyncpg pool.

It runs on the same uvicorn as the booking service, with the same arguments (uvloop, httptools, no
access log), pinned to the same core, and wrk drives it with the same connections. So the ratio
service / baseline is what FastAPI, pydantic, SQLAlchemy, the middleware, the domain code and the
extra SQL cost on top of the irreducible work: one HTTP exchange plus the database work named below.

Routes (each does exactly this and nothing more):
  GET  /raw/busy      S1 baseline: ONE statement fetching the busy intervals an availability search
                      for one practitioner needs (the clinic's rooms and devices, that practitioner
                      everywhere) in the same window the service reads; answers their count
                      (`&full=1` returns them all, for the consistency check only).
  GET  /raw/calendar  informational: the service's own calendar statement (adapters/calendar.py),
                      run through asyncpg, its JSON columns passed through untouched.
  POST /raw/book      B1 baseline: parse the JSON body, then in ONE transaction insert the patient,
                      the appointment (the exclusion constraints still decide) and the outbox row
                      with an envelope shaped like the service's. The body names the resources: the
                      baseline does no allocation and reads nothing first.
  POST /raw/book-read informational: /raw/book plus the calendar statement inside the transaction
                      first (what the service reads before it inserts), result unused.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import uvicorn

HOLDING = ("requested", "confirmed", "checked_in", "completed")

BUSY = """
SELECT practitioner_id, room_id, device_id, starts_at, procedure_starts_at, procedure_ends_at, ends_at
FROM appointments
WHERE status = ANY($1::text[]) AND ends_at > $2 AND starts_at < $3
  AND (clinic_id = $4 OR practitioner_id = $5)
"""

INSERT_PATIENT = """
INSERT INTO patients (id, display_name, email, phone, preferred_channel, locale, care_messages_consent,
                      marketing_consent, consent_text_version, consented_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""

INSERT_APPOINTMENT = """
INSERT INTO appointments (id, clinic_id, patient_id, treatment_id, practitioner_id, room_id, device_id, areas,
                          status, starts_at, procedure_starts_at, procedure_ends_at, ends_at, requested_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'requested', $9, $10, $11, $12, $13)
"""

INSERT_OUTBOX = "INSERT INTO outbox (message_id, routing_key, body) VALUES ($1, $2, $3::jsonb)"

ROUTING_KEY = "booking.appointment.requested.v1"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _calendar_statement() -> tuple[str, list[str]]:
    """The service's calendar SQL with its `:name` parameters turned into asyncpg's `$n`.

    Imported rather than copied, so the informational row always runs what the service runs.
    """
    from booking.adapters.calendar import _CALENDAR  # noqa: PLC0415 - only the informational route needs it
    from booking.domain.appointments import HOLDING as SERVICE_HOLDING  # noqa: PLC0415 - likewise

    # SQLAlchemy renders `:holding` into the text as literals (for the partial indexes); so does this.
    sql = _CALENDAR.text.replace(":holding", "(" + ", ".join(f"'{status}'" for status in SERVICE_HOLDING) + ")")
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return re.sub(r"(?<!:):([a-z_]+)", number, sql), names


def _window(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """The same window the service reads (service/visits.py `_calendar`): a day before, two after."""
    return (
        datetime.combine(first_day - timedelta(days=1), time(), UTC),
        datetime.combine(last_day + timedelta(days=2), time(), UTC),
    )


class RawApp:
    def __init__(self, dsn: str, *, min_size: int, max_size: int, phases: tuple[int, int, int]) -> None:
        self.dsn = dsn
        self.min_size, self.max_size = min_size, max_size
        # Minutes of numbing, procedure (face) and turnover of the bench treatment: the baseline does
        # not look the treatment up (that is part of what the service does and the baseline does not).
        self.numbing, self.procedure, self.turnover = (timedelta(minutes=m) for m in phases)
        self.pool: asyncpg.Pool | None = None
        self._calendar: tuple[str, list[str]] | None = None

    @property
    def calendar_statement(self) -> tuple[str, list[str]]:
        # Loaded on first use: the gated rows must not depend on the service's private module layout.
        if self._calendar is None:
            self._calendar = _calendar_statement()
        return self._calendar

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        route = (scope["method"], scope["path"])
        handlers = {
            ("GET", "/raw/busy"): self.busy,
            ("GET", "/raw/calendar"): self.calendar,
            ("POST", "/raw/book"): self.book,
            ("POST", "/raw/book-read"): self.book_after_read,
            ("GET", "/healthz"): self.healthz,
        }
        handler = handlers.get(route)
        if handler is None:
            await _respond(send, 404, b'{"code":"not_found"}')
            return
        status, body = await handler(scope, receive)
        await _respond(send, status, body)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.pool = await asyncpg.create_pool(self.dsn, min_size=self.min_size, max_size=self.max_size)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def healthz(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        return 200, b'{"status":"ok"}'

    async def busy(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        query = parse_qs(scope["query_string"].decode())
        first_day, last_day = date.fromisoformat(query["from"][0]), date.fromisoformat(query["to"][0])
        window_start, window_end = _window(first_day, last_day)
        assert self.pool is not None
        rows = await self.pool.fetch(
            BUSY,
            list(HOLDING),
            window_start,
            window_end,
            uuid.UUID(query["clinic_id"][0]),
            uuid.UUID(query["practitioner_id"][0]),
        )
        if "full" not in query:
            # The measured baseline: the fetch (asyncpg decodes every row into UUIDs and datetimes)
            # and a small answer. Formatting every interval as JSON would cost more than the fetch
            # itself here, and the service never sends busy intervals either.
            return 200, b'{"busy":%d}' % len(rows)
        intervals = [[str(r[0]), str(r[1]), str(r[2]), *(r[i].isoformat() for i in range(3, 7))] for r in rows]
        return 200, json.dumps({"busy": intervals}).encode()

    def _calendar_args(
        self, clinic_id: uuid.UUID, treatment_id: uuid.UUID, first: date, last: date, practitioner_id: uuid.UUID | None
    ) -> list[Any]:
        window_start, window_end = _window(first, last)
        values = {
            "clinic_id": clinic_id,
            "treatment_id": treatment_id,
            "first_day": first,
            "last_day": last,
            "window": asyncpg.Range(window_start, window_end),  # half-open, '[)'
            "kind": "microneedling",
            "ignoring": None,  # a visit being rescheduled; none here
            "practitioner_id": practitioner_id,
        }
        unknown = [name for name in self.calendar_statement[1] if name not in values]
        if unknown:
            raise RuntimeError(
                f"the service's calendar statement takes parameters the baseline does not know: {unknown}"
            )
        return [values[name] for name in self.calendar_statement[1]]

    async def calendar(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        query = parse_qs(scope["query_string"].decode())
        args = self._calendar_args(
            uuid.UUID(query["clinic_id"][0]),
            uuid.UUID(query["treatment_id"][0]),
            date.fromisoformat(query["from"][0]),
            date.fromisoformat(query["to"][0]),
            uuid.UUID(query["practitioner_id"][0]) if "practitioner_id" in query else None,
        )
        assert self.pool is not None
        row = await self.pool.fetchrow(self.calendar_statement[0], *args)
        assert row is not None
        # The columns are JSON text already; splice them into one object without decoding.
        # (asyncpg's Record iterates over values, hence keys().)
        columns = ",".join(f'"{key}":{row[key] or "null"}' for key in row.keys())  # noqa: SIM118
        return 200, ("{" + columns + "}").encode()

    async def book(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        return await self._book(await _read_body(receive), read_calendar=False)

    async def book_after_read(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        return await self._book(await _read_body(receive), read_calendar=True)

    async def _book(self, raw: bytes, *, read_calendar: bool) -> tuple[int, bytes]:
        body = json.loads(raw)
        now = datetime.now(UTC)
        starts_at = datetime.fromisoformat(body["starts_at"]).astimezone(UTC)
        procedure_starts_at = starts_at + self.numbing
        procedure_ends_at = procedure_starts_at + self.procedure
        ends_at = procedure_ends_at + self.turnover
        patient, consent = body["patient"], body["consent"]
        patient_id, appointment_id, message_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        clinic_id, treatment_id = uuid.UUID(body["clinic_id"]), uuid.UUID(body["treatment_id"])
        practitioner_id, room_id, device_id = (
            uuid.UUID(body[key]) for key in ("practitioner_id", "room_id", "device_id")
        )
        envelope = {
            "message_id": str(message_id),
            "type": "booking.appointment.requested",
            "version": 1,
            "occurred_at": now.isoformat(),
            "producer": "booking",
            "correlation_id": str(uuid.uuid4()),
            "causation_id": None,
            "trace_context": {
                "traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01",
                "tracestate": None,
            },
            "payload": {
                "appointment_id": str(appointment_id),
                "clinic_id": str(clinic_id),
                "patient_id": str(patient_id),
                "treatment_id": str(treatment_id),
                "practitioner_id": str(practitioner_id),
                "room_id": str(room_id),
                "device_id": str(device_id),
                "areas": body["areas"],
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "course_id": None,
                "session_number": None,
            },
        }
        assert self.pool is not None
        try:
            async with self.pool.acquire() as connection, connection.transaction():
                if read_calendar:
                    day = starts_at.date()
                    await connection.fetchrow(
                        self.calendar_statement[0], *self._calendar_args(clinic_id, treatment_id, day, day, None)
                    )
                await connection.execute(
                    INSERT_PATIENT,
                    patient_id,
                    patient["display_name"],
                    patient.get("email"),
                    patient.get("phone"),
                    patient.get("preferred_channel", "email"),
                    patient.get("locale", "en"),
                    bool(patient["care_messages_consent"]),
                    bool(patient.get("marketing_consent", False)),
                    consent["text_version"],
                    now,
                )
                await connection.execute(
                    INSERT_APPOINTMENT,
                    appointment_id,
                    clinic_id,
                    patient_id,
                    treatment_id,
                    practitioner_id,
                    room_id,
                    device_id,
                    body["areas"],
                    starts_at,
                    procedure_starts_at,
                    procedure_ends_at,
                    ends_at,
                    now,
                )
                await connection.execute(INSERT_OUTBOX, message_id, ROUTING_KEY, json.dumps(envelope))
        except asyncpg.exceptions.ExclusionViolationError:
            return 409, b'{"code":"slot_taken"}'
        return 201, json.dumps({"appointment": {"id": str(appointment_id), "status": "requested"}}).encode()


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--dsn", default=os.environ.get("BENCH_RAW_DSN", "postgresql://postgres@127.0.0.1/bench_booking")
    )
    # SQLAlchemy's pool in the service: pool_size=N, max_overflow=N (clinic_shared/db.py), so at
    # most 2N connections. The baseline keeps N open and may grow to the same 2N.
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--phases", default="30,30,15", help="numbing,procedure,turnover minutes")
    args = parser.parse_args()
    numbing, procedure, turnover = (int(m) for m in args.phases.split(","))
    app = RawApp(args.dsn, min_size=args.pool_size, max_size=2 * args.pool_size, phases=(numbing, procedure, turnover))
    # Exactly the arguments of clinic_shared.runtime.serve, so both sides get the same server.
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False, lifespan="on")


if __name__ == "__main__":
    main()
