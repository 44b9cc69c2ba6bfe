"""Notifications' unit of work: the repositories over one transaction, with the outbox in it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from clinic_shared.uow import SqlUnitOfWork
from notifications.adapters.repositories import Clinics, Messages, Recipients, Templates, Visits


class NotificationsUnitOfWork(SqlUnitOfWork):
    clinics: Clinics
    recipients: Recipients
    visits: Visits
    messages: Messages
    templates: Templates

    def open_repositories(self, session: AsyncSession) -> None:
        self.clinics = Clinics(session)
        self.recipients = Recipients(session)
        self.visits = Visits(session)
        self.messages = Messages(session)
        self.templates = Templates(session)
