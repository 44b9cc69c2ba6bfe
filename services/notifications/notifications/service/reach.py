"""How a patient can be reached for a category of message: the one place that decides, used by the
sender and by the recall (which tells managers whom to phone).

Consent per channel and category: booking's consent is the default; a choice the patient made through
a signed link wins when it is newer than booking's last change of consent, so a withdrawal on either
side is never undone by an older choice on the other. Channels are tried in the patient's order of
preference, and a channel counts only with an address that can be used."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from notifications.adapters import sms

# Enough to refuse what no mail server would take; the server has the last word.
EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")
CHANNELS = ("email", "sms")


@dataclass(frozen=True)
class Reach:
    channel: str
    address: str


@dataclass(frozen=True)
class Unusable:
    """The patient may be written to on `channel`, but its address cannot be used."""

    channel: str
    reason: str


Choices = dict[tuple[str, str], tuple[bool, datetime]]


def consents(recipient: Any, chosen: Choices, channel: str, category: str) -> bool:
    default = bool(recipient.care_messages_consent if category == "care" else recipient.marketing_consent)
    choice = chosen.get((channel, category))
    if choice is None:
        return default
    allowed, changed_at = choice
    booking_changed = getattr(recipient, f"{category}_consent_changed_at")
    return allowed if booking_changed is None or changed_at > booking_changed else default


def usable(channel: str, address: str) -> bool:
    return EMAIL.fullmatch(address) is not None if channel == "email" else sms.valid_phone(address)


def route(recipient: Any, chosen: Choices, category: str, offered: tuple[str, ...]) -> Reach | Unusable | None:
    """The first channel, in the patient's order, with consent and a usable address; else why the
    consented ones cannot be used; None when the patient accepts this category on no channel at all."""
    if recipient is None or recipient.erased_at is not None:
        return None
    order = [recipient.preferred_channel, *(c for c in CHANNELS if c != recipient.preferred_channel)]
    unusable: Unusable | None = None
    for channel in order:
        address = recipient.email if channel == "email" else recipient.phone
        if channel not in offered or not address or not consents(recipient, chosen, channel, category):
            continue
        if usable(channel, address):
            return Reach(channel, address)
        unusable = unusable or Unusable(
            channel, "invalid e-mail address" if channel == "email" else "invalid phone number"
        )
    return unusable
