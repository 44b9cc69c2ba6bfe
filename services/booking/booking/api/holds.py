"""Holds, for the patient pages: a chosen time kept for a few minutes while the patient fills in their
details, so that nobody else books it meanwhile. The hold token, answered once, is the bearer token of
the hold's own routes, and goes into the booking (`POST /appointments`) as `hold_token`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Self
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field

from booking.api.common import BookingCaller, HoldCaller, HoldId, Settings, Strict, UnitOfWork, ensure_staff_at
from booking.domain.areas import Area
from booking.domain.holds import Hold, HoldState
from booking.service import holds as service
from clinic_shared import manage_links
from clinic_shared.ratelimit import PUBLIC_RATE_LIMIT
from clinic_shared.web import error_response

router = APIRouter(tags=["holds"], dependencies=[PUBLIC_RATE_LIMIT])
TOKEN_ONLY: dict[int | str, dict[str, Any]] = {
    401: error_response("No hold token, or not a valid one (a manage link or a staff token is not)"),
    403: error_response("The token is for another hold"),
    404: error_response("Unknown hold"),
    429: error_response("Too many requests; see Retry-After"),
}


class HoldIn(Strict):
    clinic_id: UUID
    treatment_id: UUID
    areas: list[Area] = Field(min_length=1, max_length=4)
    starts_at: AwareDatetime = Field(description="a start from the availability search, with its UTC offset")
    practitioner_id: UUID | None = Field(default=None, description="leave out to take any free practitioner")


class HoldOut(BaseModel):
    """Times are UTC."""

    id: UUID
    clinic_id: UUID
    treatment_id: UUID
    areas: list[Area]
    starts_at: datetime
    ends_at: datetime
    practitioner_id: UUID
    expires_at: datetime = Field(description="the time is kept until then")
    extended: bool = Field(description="extended already: a hold is extended once at the most")
    status: HoldState = Field(description="`held` while it keeps the time; then `lapsed`, `released` or `booked`")

    @classmethod
    def of(cls, hold: Hold, *, now: datetime) -> Self:
        return cls(
            id=hold.id,
            clinic_id=hold.clinic_id,
            treatment_id=hold.treatment_id,
            areas=list(hold.areas),
            starts_at=hold.starts_at.astimezone(UTC),
            ends_at=hold.ends_at.astimezone(UTC),
            practitioner_id=hold.allocation.practitioner_id,
            expires_at=hold.held_until.astimezone(UTC),
            extended=hold.extended_at is not None,
            status=hold.state(now),
        )


class HeldOut(BaseModel):
    hold: HoldOut
    hold_token: str = Field(
        description="bearer token for this hold only (read, extend, release); send it with the booking as "
        "`hold_token` to book the held time"
    )


class HoldView(BaseModel):
    hold: HoldOut


@router.post(
    "/holds",
    status_code=201,
    summary="Keep a time while the patient fills in their details",
    responses={
        401: error_response("A bearer token was sent and is not valid"),
        403: error_response("A token that is neither a manage link nor a staff token, or staff of another clinic"),
        404: error_response("Unknown clinic, treatment or practitioner"),
        409: error_response("The time is taken (`details.alternatives` lists free ones)"),
        422: error_response("Bad request, or a start the clinic does not take; `field` names it"),
        429: error_response("Too many requests; see Retry-After"),
    },
)
async def hold(body: HoldIn, uow: UnitOfWork, settings: Settings, caller: BookingCaller) -> HeldOut:
    """Nobody else can book the time until `expires_at` (`BOOKING_HOLD_MINUTES` after now); the start is
    checked and a practitioner, room and device picked exactly as for a booking, with the same
    refusals. Then book with the `hold_token` (the held time becomes the visit), extend it once, or
    release it; left alone, it lapses and the time is free again. Public, like the booking: staff
    (the front desk on the phone) hold at their own clinics only. A hold names nobody and is
    announced to nobody; staff see it on the clinic's schedule as `held`."""
    ensure_staff_at(caller, body.clinic_id)
    hold_for, now = timedelta(minutes=settings.hold_minutes), datetime.now(UTC)
    held = await service.hold_time(
        uow,
        clinic_id=body.clinic_id,
        treatment_id=body.treatment_id,
        areas=tuple(dict.fromkeys(body.areas)),
        starts_at=body.starts_at,
        practitioner_id=body.practitioner_id,
        now=now,
        hold_for=hold_for,
    )
    token = manage_links.issue_hold(
        settings.manage_link_secret.get_secret_value(), hold_id=held.id, lasts_at_most_until=held.latest_end(hold_for)
    )
    return HeldOut(hold=HoldOut.of(held, now=now), hold_token=token)


@router.get("/holds/{hold_id}", summary="A hold", responses=TOKEN_ONLY)
async def get_hold(hold_id: HoldId, uow: UnitOfWork, caller: HoldCaller) -> HoldView:
    """With the hold token: until when the time is kept, and what became of the hold."""
    return HoldView(hold=HoldOut.of(await service.find_hold(uow, hold_id=hold_id), now=datetime.now(UTC)))


@router.post(
    "/holds/{hold_id}/extend",
    summary="Keep the time a while longer, once",
    responses={
        **TOKEN_ONLY,
        409: error_response(
            "Extended once already (`hold_already_extended`), or the hold lapsed or was released "
            "(`hold_not_held`) or booked (`hold_already_booked`)"
        ),
    },
)
async def extend(hold_id: HoldId, uow: UnitOfWork, settings: Settings, caller: HoldCaller) -> HoldView:
    """With the hold token: `expires_at` moves on by `BOOKING_HOLD_MINUTES`. Once only."""
    now = datetime.now(UTC)
    extended = await service.extend_hold(uow, hold_id=hold_id, by=timedelta(minutes=settings.hold_minutes), now=now)
    return HoldView(hold=HoldOut.of(extended, now=now))


@router.delete(
    "/holds/{hold_id}",
    status_code=204,
    summary="Let the time go",
    responses={**TOKEN_ONLY, 409: error_response("The hold was booked: cancel the visit instead")},
)
async def release(hold_id: HoldId, uow: UnitOfWork, caller: HoldCaller) -> Response:
    """With the hold token: the time is free for anyone at once. Releasing a hold that lapsed or was
    released already changes nothing (204 again)."""
    await service.release_hold(uow, hold_id=hold_id, now=datetime.now(UTC))
    return Response(status_code=204)
