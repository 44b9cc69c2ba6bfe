"""Who patients are and how to reach them, as booking tells it: contact details and consent only (no
health data). The newest revision wins and an erased patient stays erased, whatever arrives late."""

from __future__ import annotations

from clinic_shared.events import catalogue
from clinic_shared.messaging import HandlerContext
from notifications.adapters.repositories import Repositories


async def apply_contact(event: catalogue.PatientContactChanged, ctx: HandlerContext) -> None:
    await Repositories(ctx.session).recipients.keep_contact(
        {
            "patient_id": event.patient_id,
            "revision": event.revision,
            "display_name": event.display_name,
            "email": event.email,
            "phone": event.phone,
            "preferred_channel": event.preferred_channel,
            "locale": event.locale,
            "care_messages_consent": event.care_messages_consent,
            "marketing_consent": event.marketing_consent,
        },
        at=ctx.envelope.occurred_at,
    )


async def forget_patient(event: catalogue.PatientErased, ctx: HandlerContext) -> None:
    """Contact details and choices go at once; what was still to be sent is cancelled."""
    repos = Repositories(ctx.session)
    await repos.recipients.forget(event.patient_id, erased_at=event.erased_at)
    await repos.messages.cancel_waiting(reason="patient erased", patient_id=event.patient_id)
