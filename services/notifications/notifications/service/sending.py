"""Sending: messages are rows with a due time; the sender claims due ones with `FOR UPDATE SKIP
LOCKED` (several workers may run), marks them `sending` and commits before it talks to a mail server or
an SMS provider, then records every attempt and announces the outcome (`message delivered` / `message
failed`) through the outbox in the same transaction.

Right before sending, each message is checked again: is it still warranted (a cancelled visit gets no
reminder), may the patient be written to on some channel (erasure, consent per channel and category),
and is it quiet hours at the clinic (a message that can wait is deferred to their end, never dropped).

A passing failure is tried again after growing delays, up to a limit; a permanent one (an address that
is invalid or refused) is recorded once and not retried; a message left in `sending` by a worker that
died is picked up again, with the same Message-ID and provider reference so it is recognisable.

What a message says is composed in service/composing.py; here, only whether, when and how it goes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.exc import InterfaceError, OperationalError

from clinic_shared.events import catalogue
from clinic_shared.logging import get_logger
from clinic_shared.runtime import SessionFactory
from notifications.adapters import sms as sms_adapter
from notifications.adapters import smtp
from notifications.adapters.repositories import Messages, NotKnownYet, Repositories
from notifications.adapters.uow import NotificationsUnitOfWork
from notifications.domain import schedule
from notifications.domain.kinds import KINDS
from notifications.domain.messages import Attempt
from notifications.domain.schedule import QuietHours
from notifications.service import composing, reach
from notifications.service.composing import Prepared
from notifications.settings import NotificationsSettings

log = get_logger(__name__)
BATCH = 20
# Failures of the moment (the database or the network): the message waits and is tried again.
PASSING = (OperationalError, InterfaceError, OSError, TimeoutError)
Clock = Callable[[], datetime]
# A message whose patient or clinic notifications does not know yet is looked at again this often,
# this long.
UNKNOWN_RETRY = timedelta(seconds=5)
UNKNOWN_WAIT = timedelta(hours=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Skip:
    """Nothing will be sent, and why (cancelled visit, no consent, erased patient)."""

    reason: str


@dataclass(frozen=True)
class Deferred:
    until: datetime


@dataclass(frozen=True)
class Refused:
    """Permanently undeliverable before any provider was asked (an invalid address)."""

    channel: str
    reason: str


@dataclass
class Channels:
    """The ways out, opened once per run of the job."""

    settings: NotificationsSettings
    _sms: sms_adapter.SmsSender | None = field(default=None, init=False)

    async def send(self, prepared: Prepared) -> list[Attempt]:
        if prepared.email is not None:
            return [await self._mail(prepared.email)]
        assert prepared.text is not None
        if self._sms is None:
            self._sms = sms_adapter.SmsSender.from_settings(self.settings)
        sent = await self._sms.send(to=prepared.text.to, body=prepared.text.body, reference=prepared.text.message_id)
        return [Attempt(a.provider, a.status, a.provider_message_id, a.error) for a in sent]

    async def _mail(self, outgoing: smtp.Outgoing) -> Attempt:
        provider = f"smtp:{self.settings.smtp_host}"
        try:
            provider_id = await asyncio.to_thread(smtp.send, self.settings, outgoing)
        except smtp.PermanentFailure as error:
            return Attempt(provider, "failed_permanent", error=str(error))
        except smtp.TEMPORARY as error:
            return Attempt(provider, "failed_temporary", error=smtp.describe(error))
        return Attempt(provider, "sent", provider_message_id=provider_id)

    async def aclose(self) -> None:
        if self._sms is not None:
            await self._sms.aclose()


async def send_due(session_factory: SessionFactory, settings: NotificationsSettings, *, now: Clock = utc_now) -> None:
    """Worker job: send what is due, in small batches, until nothing is. `now` is the clock (tests move
    it)."""
    channels = Channels(settings)
    try:
        while await _send_batch(session_factory, settings, channels, now):
            pass
    finally:
        await channels.aclose()


async def _send_batch(
    session_factory: SessionFactory, settings: NotificationsSettings, channels: Channels, clock: Clock
) -> int:
    """Claim a batch under a token of this run; each message is then claimed afresh right before it is
    sent, so a batch slowed down by a provider is never sent by two workers."""
    token, now = uuid.uuid4(), clock()
    async with session_factory() as session, session.begin():
        claimed = await Messages(session).claim_due(
            token=token, now=now, stuck_before=now - timedelta(seconds=settings.stuck_sending_s), limit=BATCH
        )
    for message_id in claimed:
        await _deliver(session_factory, settings, channels, message_id, token, clock())
    return len(claimed)


async def _deliver(
    session_factory: SessionFactory, settings: NotificationsSettings, channels: Channels, message_id: UUID,
    token: UUID, now: datetime,
) -> None:  # fmt: skip
    try:
        async with session_factory() as session, session.begin():
            repos = Repositories(session)
            if not await repos.messages.reclaim(message_id, token=token, now=now):
                log.warning("message_claim_lost", message_id=str(message_id))
                return
            outcome = await _prepare(repos, settings, message_id, now)
            if isinstance(outcome, Skip):
                await repos.messages.cancel(message_id, reason=outcome.reason)
                return
            if isinstance(outcome, Deferred):
                await repos.messages.defer(message_id, until=outcome.until)
                return
        if isinstance(outcome, Refused):
            attempts = [Attempt(outcome.channel, "failed_permanent", error=outcome.reason)]
            await _record(session_factory, settings, message_id, token, outcome.channel, None, attempts, now)
            return
        attempts = await channels.send(outcome)
    except PASSING as error:
        # The database or the network had a bad moment: the message is tried again later, not lost.
        log.warning("message_delayed", message_id=str(message_id), error=type(error).__name__)
        attempts = [Attempt("none", "failed_temporary", error=f"unavailable: {type(error).__name__}")]
        await _record(session_factory, settings, message_id, token, None, None, attempts, now)
        return
    except Exception as error:
        # A message that cannot be rendered or built will not get better by itself: recorded once, not
        # retried, and the rest of the batch goes on.
        log.exception("message_unsendable", message_id=str(message_id))
        attempts = [Attempt("none", "failed_permanent", error=f"unsendable: {type(error).__name__}")]
        await _record(session_factory, settings, message_id, token, None, None, attempts, now)
        return
    await _record(session_factory, settings, message_id, token, outcome.channel, outcome.to_address, attempts, now)


async def _prepare(
    repos: Repositories, settings: NotificationsSettings, message_id: UUID, now: datetime
) -> Prepared | Skip | Deferred | Refused:
    message = await repos.messages.get(message_id)
    try:
        clinic, zone, policy = await repos.clinics.profile(message.clinic_id)
    except NotKnownYet:
        return _wait(message, now, gave_up="the clinic never became known")
    if message.audience == "manager":
        return await composing.for_managers(repos, settings, message=message, clinic=clinic)

    recipient = await repos.recipients.find(message.patient_id)
    checked = await _checked(repos, message, recipient, zone, policy.quiet, now)
    if not isinstance(checked, tuple) or recipient is None:
        return checked if not isinstance(checked, tuple) else Skip("the patient was erased")
    visit, channel, address = checked

    return await composing.for_patient(
        repos, settings, message=message, recipient=recipient, clinic=clinic, visit=visit, zone=zone,
        channel=channel, address=address, now=now,
    )  # fmt: skip


def _wait(message: Any, now: datetime, *, gave_up: str) -> Skip | Deferred:
    """What a message needs is on its way (another event, handled concurrently): look again shortly,
    but not for ever (an hour of wall-clock time since it was planned)."""
    if datetime.now(UTC) - message.created_at > UNKNOWN_WAIT:
        return Skip(gave_up)
    return Deferred(now + UNKNOWN_RETRY)


def _absent(message: Any, recipient: Any, now: datetime) -> Skip | Deferred | None:
    """Why there is nobody to write to yet, or any more."""
    if recipient is None:
        return _wait(message, now, gave_up="the patient's contact details never arrived")
    if recipient.erased_at is not None:
        return Skip("the patient was erased")
    return None


async def _checked(
    repos: Repositories, message: Any, recipient: Any, zone: ZoneInfo, quiet: QuietHours, now: datetime
) -> tuple[Any, str, str] | Skip | Deferred | Refused:
    """The visit, channel and address for a patient's message that may go now; or why it may not."""
    absent = _absent(message, recipient, now)
    if absent is not None:
        return absent
    visit = await repos.visits.find(message.appointment_id) if message.appointment_id is not None else None
    unwarranted = await _unwarranted(repos, message, visit, zone, now)
    if unwarranted:
        return Skip(unwarranted)
    way = reach.route(recipient, await repos.recipients.choices(recipient.patient_id), message.category,
                      KINDS[message.kind].channels)  # fmt: skip
    if way is None:
        return Skip(f"no channel the patient accepts {message.category} messages on")
    if not message.urgent and (release := quiet.release(now, zone)) > now:
        return Deferred(release)
    if isinstance(way, reach.Unusable):
        return Refused(way.channel, way.reason)
    return visit, way.channel, way.address


# The visit's status each kind needs when it is sent.
NEEDS_STATUS = {
    "confirmation": "confirmed", "reminder": "confirmed", "rescheduled": "confirmed", "cancelled": "cancelled",
    "rejected": "rejected", "aftercare_same_day": "completed", "aftercare_next_day": "completed",
    "aftercare_check": "completed", "next_session": "completed",
}  # fmt: skip


async def _unwarranted(repos: Repositories, message: Any, visit: Any, zone: ZoneInfo, now: datetime) -> str | None:
    """Why this message is no longer worth sending, if it is not."""
    if message.appointment_id is not None:
        if visit is None:
            return "appointment unknown"
        needed = NEEDS_STATUS.get(message.kind)
        if needed is not None and visit.status != needed:
            return f"the appointment is {visit.status}"
    facts = message.facts
    reason: str | None = None
    match message.kind:
        case "confirmation" | "reminder" if visit.starts_at <= now:
            reason = "the visit has begun"
        case "rescheduled" | "reminder" if "starts_at" in facts and visit.starts_at != datetime.fromisoformat(
            facts["starts_at"]
        ):
            reason = "the visit moved"
        case "next_session":
            reason = await _next_session_unwarranted(repos, message, visit, zone, now)
        case "waitlist_offer" if datetime.fromisoformat(facts["expires_at"]) <= now:
            reason = "the offer expired"
    return reason


async def _next_session_unwarranted(
    repos: Repositories, message: Any, visit: Any, zone: ZoneInfo, now: datetime
) -> str | None:
    if date.fromisoformat(message.facts["last_day"]) < now.astimezone(zone).date():
        return "the course window has passed"
    if await repos.visits.booked_after(patient_id=message.patient_id, clinic_id=message.clinic_id,
                                       after=visit.starts_at):  # fmt: skip
        return "the next session is booked"
    return None


async def _record(
    session_factory: SessionFactory,
    settings: NotificationsSettings,
    message_id: UUID,
    token: UUID,
    channel: str | None,
    to_address: str | None,
    attempts: list[Attempt],
    now: datetime,
) -> None:
    """Every attempt, the message's new state and its announcement, in one transaction. If another worker
    took the message over meanwhile (this one was too slow), the attempts are still recorded, but the
    message's state is the other worker's to set."""
    final = attempts[-1]
    status, error = final.status, final.error
    async with NotificationsUnitOfWork(session_factory, producer=settings.service_name) as uow:
        row = await uow.messages.count_attempt(message_id, token=token)
        if row is None:
            log.warning("message_claim_lost", message_id=str(message_id), status=status)
            await uow.messages.log_attempts(message_id, channel=channel or "email", at=now, attempts=attempts)
            await uow.commit()
            return
        channel = channel or row.channel
        if status == "failed_temporary" and row.attempts >= settings.max_attempts:
            status, error = "failed_permanent", f"{error}; gave up after {row.attempts} attempts"
            attempts = [*attempts[:-1], Attempt(final.provider, status, final.provider_message_id, error)]
        values: dict[str, Any] = {
            "status": status, "last_error": error, "channel": channel, "provider": final.provider,
            "provider_message_id": final.provider_message_id,
        }  # fmt: skip
        if to_address is not None:
            values["to_address"] = to_address
        if status == "sent":
            values["sent_at"] = now
        if status == "failed_temporary":
            values["due_at"] = now + schedule.retry_delay(row.attempts, settings.retry_base_s)
        await uow.messages.settle(message_id, **values)
        await uow.messages.log_attempts(message_id, channel=channel, at=now, attempts=attempts)
        common = {"message_id": message_id, "kind": row.kind, "channel": channel, "clinic_id": row.clinic_id,
                  "appointment_id": row.appointment_id}  # fmt: skip
        correlation = str(row.appointment_id or message_id)
        if status == "sent":
            uow.outbox.add(catalogue.MessageDelivered(**common, provider=final.provider, delivered_at=now),
                           correlation_id=correlation)  # fmt: skip
        else:
            uow.outbox.add(
                catalogue.MessageFailed(**common, permanent=status == "failed_permanent",
                                        error_code=_error_code(error), failed_at=now),
                correlation_id=correlation,
            )  # fmt: skip
        await uow.commit()
    log.info("message_attempt", message_id=str(message_id), status=status, channel=channel)


def _error_code(error: str | None) -> str:
    """A short, data-free code for the event: the first words of the recorded error."""
    return (error or "unknown").split(";")[0][:64]
