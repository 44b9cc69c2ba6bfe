"""Notifications' repositories: every statement the service runs, by subject, over one session. The use
cases (service/) decide; these read and write, and PostgreSQL holds the invariants (a unique dedupe
key per message, a visit's status only moving forward, the claim a sender holds)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from clinic_shared.projections.clinics import clinics
from notifications.adapters.tables import (
    alert_recipients,
    appointments,
    clinic_policies,
    delivery_attempts,
    messages,
    preferences,
    recipients,
    templates,
)
from notifications.domain import schedule
from notifications.domain.kinds import KINDS
from notifications.domain.messages import WAITING, Attempt, Planned
from notifications.domain.schedule import ClinicPolicy, QuietHours


class NotKnownYet(RuntimeError):
    """An event overtook the one it depends on (a visit's before its patient's): the consumer retries it
    with growing delays, and after its last try it lands in the error queue with this reason."""


def _rank(status: Any) -> ColumnElement[int]:
    """Statuses in the order a visit goes through them; the final ones share the last place."""
    return case((status == "requested", 0), (status == "confirmed", 1), (status == "checked_in", 2), else_=3)


class Clinics:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, clinic_id: UUID) -> Any:
        return (await self._session.execute(select(clinics).where(clinics.c.id == clinic_id))).first()

    async def profile(self, clinic_id: UUID) -> tuple[Any, ZoneInfo, ClinicPolicy]:
        """The clinic, its time zone and its timing rules (the defaults unless it set its own), in one
        statement; NotKnownYet if notifications has not heard of it."""
        row = (
            await self._session.execute(
                select(clinics, clinic_policies.c.reminder_lead_hours, clinic_policies.c.quiet_start,
                       clinic_policies.c.quiet_end)
                .outerjoin(clinic_policies, clinic_policies.c.clinic_id == clinics.c.id)
                .where(clinics.c.id == clinic_id)
            )
        ).first()  # fmt: skip
        if row is None:
            raise NotKnownYet(f"clinic {clinic_id} is not known yet")
        policy = schedule.DEFAULT_POLICY
        if row.reminder_lead_hours is not None:
            policy = ClinicPolicy(
                reminder_lead=timedelta(hours=row.reminder_lead_hours), quiet=QuietHours(row.quiet_start, row.quiet_end)
            )
        return row, ZoneInfo(row.timezone), policy

    async def rules(self, clinic_id: UUID) -> tuple[ZoneInfo, ClinicPolicy]:
        _, zone, policy = await self.profile(clinic_id)
        return zone, policy

    async def policy_row(self, clinic_id: UUID) -> Any:
        return (
            await self._session.execute(select(clinic_policies).where(clinic_policies.c.clinic_id == clinic_id))
        ).first()

    async def set_policy(self, clinic_id: UUID, values: dict[str, Any]) -> None:
        statement = insert(clinic_policies).values(clinic_id=clinic_id, **values)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[clinic_policies.c.clinic_id],
                set_={**values, "changed_at": statement.excluded.changed_at},
            )
        )

    async def alert_recipients(self, clinic_id: UUID) -> list[str]:
        return sorted(
            await self._session.scalars(
                select(alert_recipients.c.email).where(alert_recipients.c.clinic_id == clinic_id)
            )
        )

    async def replace_alert_recipients(self, clinic_id: UUID, emails: list[str]) -> None:
        """Replace the list; concurrent replacements of one clinic's list take turns (the last wins)."""
        await self._session.execute(select(clinics.c.id).where(clinics.c.id == clinic_id).with_for_update())
        await self._session.execute(delete(alert_recipients).where(alert_recipients.c.clinic_id == clinic_id))
        if emails:
            await self._session.execute(
                insert(alert_recipients), [{"clinic_id": clinic_id, "email": e} for e in emails]
            )


class Recipients:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def find(self, patient_id: UUID) -> Any:
        return (await self._session.execute(select(recipients).where(recipients.c.patient_id == patient_id))).first()

    async def get(self, patient_id: UUID) -> Any:
        row = await self.find(patient_id)
        if row is None:
            raise NotKnownYet(f"no contact details for patient {patient_id} yet")
        return row

    async def keep_contact(self, values: dict[str, Any], *, at: datetime) -> None:
        """Keep the newest revision; an erased patient stays erased. When booking changes a consent, the
        time is kept, per category: a patient's older choice through a link gives way to it."""
        statement = insert(recipients).values(**values, care_consent_changed_at=at, marketing_consent_changed_at=at)
        excluded, current = statement.excluded, recipients.c

        def changed_at(category: str) -> Any:
            flag = "care_messages_consent" if category == "care" else "marketing_consent"
            column = f"{category}_consent_changed_at"
            return case((current[flag] != excluded[flag], excluded[column]), else_=current[column])

        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[current.patient_id],
                set_={
                    **{k: excluded[k] for k in values if k != "patient_id"},
                    "care_consent_changed_at": changed_at("care"),
                    "marketing_consent_changed_at": changed_at("marketing"),
                },
                where=(current.revision < excluded.revision) & current.erased_at.is_(None),
            )
        )

    async def forget(self, patient_id: UUID, *, erased_at: datetime) -> None:
        """Contact details and choices go; the row stays as a tombstone so a late contact event cannot
        bring the patient back."""
        statement = insert(recipients).values(
            patient_id=patient_id, revision=0, display_name="", preferred_channel="email", locale="en",
            care_messages_consent=False, marketing_consent=False, erased_at=erased_at,
        )  # fmt: skip
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[recipients.c.patient_id],
                set_={
                    "display_name": "", "email": None, "phone": None, "care_messages_consent": False,
                    "marketing_consent": False, "erased_at": erased_at,
                },
            )
        )  # fmt: skip
        await self._session.execute(delete(preferences).where(preferences.c.patient_id == patient_id))

    async def choices(self, patient_id: UUID) -> dict[tuple[str, str], tuple[bool, datetime]]:
        rows = await self._session.execute(select(preferences).where(preferences.c.patient_id == patient_id))
        return {(row.channel, row.category): (row.allowed, row.changed_at) for row in rows}

    async def choose(self, patient_id: UUID, changes: dict[tuple[str, str], bool], *, at: datetime) -> None:
        if not changes:
            return
        rows = [
            {"patient_id": patient_id, "channel": channel, "category": category, "allowed": allowed, "changed_at": at}
            for (channel, category), allowed in changes.items()
        ]
        statement = insert(preferences).values(rows)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[preferences.c.patient_id, preferences.c.channel, preferences.c.category],
                set_={"allowed": statement.excluded.allowed, "changed_at": statement.excluded.changed_at},
            )
        )


class Visits:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def find(self, appointment_id: UUID) -> Any:
        return (
            await self._session.execute(select(appointments).where(appointments.c.appointment_id == appointment_id))
        ).first()

    async def project(
        self, *, appointment_id: UUID, clinic_id: UUID, patient_id: UUID, status: str, at: datetime,
        starts_at: datetime | None = None, ends_at: datetime | None = None, areas: list[str] | None = None,
    ) -> Any:  # fmt: skip
        """The visit after this event: inserted, or moved forward to `status`, with this event's times if
        it is newer than the one they came from (a visit never heard of is kept without times)."""
        values: dict[str, Any] = {
            "appointment_id": appointment_id, "clinic_id": clinic_id, "patient_id": patient_id, "status": status,
            "starts_at": starts_at, "ends_at": ends_at, "areas": areas or [],
            "times_at": at if starts_at is not None else None,
        }  # fmt: skip
        statement = insert(appointments).values(**values)
        excluded, current = statement.excluded, appointments.c
        newer_times = excluded.times_at.is_not(None) & (
            current.times_at.is_(None) | (current.times_at < excluded.times_at)
        )
        set_: dict[str, Any] = {
            "status": case((_rank(current.status) < _rank(excluded.status), excluded.status), else_=current.status),
            **{name: case((newer_times, excluded[name]), else_=current[name])
               for name in ("starts_at", "ends_at", "areas", "times_at")},
        }  # fmt: skip
        return (
            await self._session.execute(
                statement.on_conflict_do_update(index_elements=[current.appointment_id], set_=set_).returning(
                    appointments
                )
            )
        ).one()

    async def move(
        self, appointment_id: UUID, *, at: datetime, starts_at: datetime, ends_at: datetime, areas: list[str]
    ) -> Any:
        """Apply a move to a visit still to come, unless a newer event set its times; None if not applied."""
        return (
            await self._session.execute(
                update(appointments)
                .where(appointments.c.appointment_id == appointment_id,
                       appointments.c.status.in_(("requested", "confirmed")),
                       appointments.c.times_at.is_(None) | (appointments.c.times_at < at))
                .values(starts_at=starts_at, ends_at=ends_at, areas=areas, times_at=at)
                .returning(appointments)
            )
        ).first()  # fmt: skip

    async def clinic_of(self, appointment_id: UUID) -> UUID | None:
        """The visit's clinic, from the visit or else from a message about it."""
        clinic_id: UUID | None = await self._session.scalar(
            select(appointments.c.clinic_id).where(appointments.c.appointment_id == appointment_id)
        )
        if clinic_id is None:
            clinic_id = await self._session.scalar(
                select(messages.c.clinic_id).where(messages.c.appointment_id == appointment_id).limit(1)
            )
        return clinic_id

    async def clinics_of_patient(self, patient_id: UUID) -> set[UUID]:
        """The clinics the patient has visits at, or messages from (the visit may not be known yet)."""
        rows = await self._session.scalars(
            select(appointments.c.clinic_id)
            .where(appointments.c.patient_id == patient_id)
            .union(select(messages.c.clinic_id).where(messages.c.patient_id == patient_id))
        )
        return set(rows)

    async def set(self, appointment_id: UUID, **values: Any) -> None:
        await self._session.execute(
            update(appointments).where(appointments.c.appointment_id == appointment_id).values(**values)
        )

    async def booked_after(self, *, patient_id: UUID, clinic_id: UUID, after: datetime) -> bool:
        """Whether the patient has another visit at the clinic after this time (requested or later)."""
        found = await self._session.scalar(
            select(appointments.c.appointment_id)
            .where(appointments.c.patient_id == patient_id, appointments.c.clinic_id == clinic_id,
                   appointments.c.starts_at > after,
                   appointments.c.status.in_(("requested", "confirmed", "checked_in", "completed")))
            .limit(1)
        )  # fmt: skip
        return found is not None

    async def treated(self, appointment_ids: list[UUID]) -> list[Any]:
        """Of these visits, those notifications knows with their times."""
        return list(
            await self._session.execute(
                select(appointments.c.appointment_id, appointments.c.patient_id, appointments.c.starts_at).where(
                    appointments.c.appointment_id.in_(appointment_ids), appointments.c.starts_at.is_not(None)
                )
            )
        )


class Messages:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def queue(self, planned: Planned) -> bool:
        """Queue the message once; False when its dedupe key was already taken. Its channel is the
        patient's preferred one if known (the sender decides when it is due)."""
        kind = KINDS[planned.kind]
        channel = _preferred_channel(planned.patient_id)
        inserted = await self._session.scalar(
            insert(messages)
            .values(
                id=uuid.uuid4(), dedupe_key=planned.dedupe_key, patient_id=planned.patient_id,
                appointment_id=planned.appointment_id, clinic_id=planned.clinic_id, kind=kind.name,
                audience=kind.audience, category=kind.category, urgent=kind.urgent, facts=planned.facts,
                channel=channel, status=planned.status, due_at=planned.due_at, last_error=planned.reason,
            )
            .on_conflict_do_nothing(index_elements=[messages.c.dedupe_key])
            .returning(messages.c.id)
        )  # fmt: skip
        return inserted is not None

    async def queue_or_revive(self, planned: Planned) -> None:
        """Queue the message, or bring back its cancelled twin (a reminder for a time moved away from
        and back to)."""
        kind = KINDS[planned.kind]
        statement = insert(messages).values(
            id=uuid.uuid4(), dedupe_key=planned.dedupe_key, patient_id=planned.patient_id,
            appointment_id=planned.appointment_id, clinic_id=planned.clinic_id, kind=kind.name,
            audience=kind.audience, category=kind.category, urgent=kind.urgent, facts=planned.facts,
            channel=_preferred_channel(planned.patient_id), status="queued", due_at=planned.due_at,
        )  # fmt: skip
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[messages.c.dedupe_key],
                set_={"status": "queued", "due_at": planned.due_at, "last_error": None},
                where=messages.c.status == "cancelled",
            )
        )

    async def cancel_waiting(self, *, reason: str, keep: tuple[str, ...] = (), **where: Any) -> None:
        """Whatever is still to be sent for this visit (or patient, or kind, or key) will not be, but the
        kinds in `keep`; a condition `not_<column>` excludes that value."""
        conditions = [
            messages.c[name.removeprefix("not_")] != value if name.startswith("not_") else messages.c[name] == value
            for name, value in where.items()
        ]
        if keep:
            conditions.append(messages.c.kind.not_in(keep))
        await self._session.execute(
            update(messages)
            .where(*conditions, messages.c.status.in_(WAITING))
            .values(status="cancelled", last_error=reason)
        )

    async def is_waiting(self, dedupe_key: str) -> bool:
        found = await self._session.scalar(
            select(messages.c.id).where(messages.c.dedupe_key == dedupe_key, messages.c.status.in_(WAITING))
        )
        return found is not None

    async def get(self, message_id: UUID) -> Any:
        return (await self._session.execute(select(messages).where(messages.c.id == message_id))).one()

    # The sender's claims: a batch under a token, each message again right before it is sent.

    async def claim_due(self, *, token: UUID, now: datetime, stuck_before: datetime, limit: int) -> list[UUID]:
        claimed = list(
            await self._session.scalars(
                select(messages.c.id)
                .where(
                    or_(
                        and_(messages.c.status.in_(WAITING), messages.c.due_at <= now),
                        and_(messages.c.status == "sending", messages.c.claimed_at <= stuck_before),
                    )
                )
                .order_by(messages.c.due_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if claimed:
            await self._session.execute(
                update(messages).where(messages.c.id.in_(claimed)).values(status="sending", claim=token, claimed_at=now)
            )
        return claimed

    async def reclaim(self, message_id: UUID, *, token: UUID, now: datetime) -> bool:
        """Renew this sender's claim; False if another sender took the message over."""
        held = await self._session.scalar(
            update(messages).where(_held(message_id, token)).values(claimed_at=now).returning(messages.c.id)
        )
        return held is not None

    async def cancel(self, message_id: UUID, *, reason: str) -> None:
        await self._session.execute(
            update(messages)
            .where(messages.c.id == message_id)
            .values(status="cancelled", last_error=reason, claim=None)
        )

    async def defer(self, message_id: UUID, *, until: datetime) -> None:
        await self._session.execute(
            update(messages).where(messages.c.id == message_id).values(status="queued", due_at=until, claim=None)
        )

    async def count_attempt(self, message_id: UUID, *, token: UUID) -> Any:
        """Count one more attempt and release the claim; None if the claim was lost."""
        return (
            await self._session.execute(
                update(messages)
                .where(_held(message_id, token))
                .values(attempts=messages.c.attempts + 1, claim=None)
                .returning(messages.c.attempts, messages.c.channel, messages.c.kind, messages.c.clinic_id,
                           messages.c.appointment_id)
            )
        ).first()  # fmt: skip

    async def settle(self, message_id: UUID, **values: Any) -> None:
        await self._session.execute(update(messages).where(messages.c.id == message_id).values(**values))

    async def log_attempts(self, message_id: UUID, *, channel: str, at: datetime, attempts: list[Attempt]) -> None:
        await self._session.execute(
            insert(delivery_attempts),
            [{"message_id": message_id, "attempted_at": at, "channel": channel, "provider": a.provider,
              "provider_message_id": a.provider_message_id, "status": a.status, "error": a.error}
             for a in attempts],
        )  # fmt: skip

    # The delivery record, for staff.

    async def of_appointment(self, appointment_id: UUID) -> list[Any]:
        return list(
            await self._session.execute(
                select(messages)
                .where(messages.c.appointment_id == appointment_id)
                .order_by(messages.c.due_at, messages.c.created_at)
            )
        )

    async def of_patient(self, patient_id: UUID, *, clinic_ids: frozenset[UUID] | None, limit: int) -> list[Any]:
        """Newest first; only at these clinics unless `clinic_ids` is None."""
        query = select(messages).where(messages.c.patient_id == patient_id)
        if clinic_ids is not None:
            query = query.where(messages.c.clinic_id.in_(clinic_ids))
        return list(await self._session.execute(query.order_by(messages.c.created_at.desc()).limit(limit)))

    async def attempts_of(self, message_ids: list[UUID]) -> dict[UUID, list[Any]]:
        rows = await self._session.execute(
            select(delivery_attempts)
            .where(delivery_attempts.c.message_id.in_(message_ids))
            .order_by(delivery_attempts.c.id)
        )
        by_message: dict[UUID, list[Any]] = {}
        for row in rows:
            by_message.setdefault(row.message_id, []).append(row)
        return by_message

    async def counts(self, *, clinic_id: UUID, since: datetime, until: datetime) -> tuple[list[Any], float | None]:
        """(kind, channel, status, count) of the messages planned in the period, and the median seconds
        from due to sent of those sent."""
        window = (messages.c.clinic_id == clinic_id, messages.c.created_at >= since, messages.c.created_at < until)
        rows = list(
            await self._session.execute(
                select(messages.c.kind, messages.c.channel, messages.c.status, func.count())
                .where(*window)
                .group_by(messages.c.kind, messages.c.channel, messages.c.status)
                .order_by(messages.c.kind, messages.c.channel)
            )
        )
        median = await self._session.scalar(
            select(
                func.percentile_cont(0.5).within_group(func.extract("epoch", messages.c.sent_at - messages.c.due_at))
            ).where(*window, messages.c.status == "sent")
        )
        return rows, float(median) if median is not None else None

    async def claim_ended(self, *, before: datetime, ended: tuple[str, ...], limit: int) -> list[UUID]:
        return list(
            await self._session.scalars(
                select(messages.c.id)
                .where(messages.c.status.in_(ended), messages.c.created_at < before, messages.c.due_at < before)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )

    async def delete(self, message_ids: list[UUID]) -> None:
        await self._session.execute(delete(delivery_attempts).where(delivery_attempts.c.message_id.in_(message_ids)))
        await self._session.execute(delete(messages).where(messages.c.id.in_(message_ids)))


def _preferred_channel(patient_id: UUID | None) -> Any:
    if patient_id is None:
        return "email"
    preferred = select(recipients.c.preferred_channel).where(recipients.c.patient_id == patient_id).scalar_subquery()
    return func.coalesce(preferred, "email")


def _held(message_id: UUID, token: UUID) -> ColumnElement[bool]:
    return and_(messages.c.id == message_id, messages.c.claim == token, messages.c.status == "sending")


@dataclass(frozen=True)
class TemplateVersion:
    version: int
    source: str | None
    saved_by: str
    saved_at: datetime


class Templates:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def versions(self, *, clinic_id: UUID, kind: str, channel: str, locale: str) -> list[TemplateVersion]:
        """Newest first."""
        rows = await self._session.execute(
            select(templates.c.version, templates.c.source, templates.c.saved_by, templates.c.saved_at)
            .where(templates.c.clinic_id == clinic_id, templates.c.kind == kind, templates.c.channel == channel,
                   templates.c.locale == locale)
            .order_by(templates.c.version.desc())
        )  # fmt: skip
        return [TemplateVersion(*row) for row in rows]

    async def newest(self, *, clinic_id: UUID, kind: str, channel: str, locale: str) -> TemplateVersion | None:
        row = (
            await self._session.execute(
                select(templates.c.version, templates.c.source, templates.c.saved_by, templates.c.saved_at)
                .where(templates.c.clinic_id == clinic_id, templates.c.kind == kind, templates.c.channel == channel,
                       templates.c.locale == locale)
                .order_by(templates.c.version.desc())
                .limit(1)
            )
        ).first()  # fmt: skip
        return TemplateVersion(*row) if row is not None else None

    async def add_version(
        self, *, clinic_id: UUID, kind: str, channel: str, locale: str, source: str | None, saved_by: str
    ) -> None:
        """The next version; a concurrent save of the same one fails on the unique constraint."""
        same = (templates.c.clinic_id == clinic_id, templates.c.kind == kind, templates.c.channel == channel,
                templates.c.locale == locale)  # fmt: skip
        newest = await self._session.scalar(select(func.max(templates.c.version)).where(*same))
        await self._session.execute(
            insert(templates).values(clinic_id=clinic_id, kind=kind, channel=channel, locale=locale,
                                     version=(newest or 0) + 1, source=source, saved_by=saved_by)
        )  # fmt: skip


class Repositories:
    """All of notifications' repositories over one session (an event handler's, or a unit of work's)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clinics = Clinics(session)
        self.recipients = Recipients(session)
        self.visits = Visits(session)
        self.messages = Messages(session)
        self.templates = Templates(session)
