"""What notifications sends: every kind of message, whom it is for, its consent category, whether it may
wait out quiet hours, the channels it has, and the variables its templates may use (with sample values
for previews and for checking a template before it is saved).

No I/O here: the sender, the template store and the preview all read this table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Audience = Literal["patient", "manager"]
Category = Literal["care", "marketing", "alert"]
Channel = Literal["email", "sms"]

_PATIENT = {
    "name": "Sam Jansen",
    "clinic_name": "Canal District Skin Clinic",
    "clinic_address": "Herengracht 120, 1015 BS Amsterdam",
    "clinic_phone": "+31 20 555 0120",
    "preferences_url": "https://book.clinic.example/preferences?token=sample",
}
_VISIT = {
    **_PATIENT,
    "local_start": "Tuesday 2 March 2027, 10:00",
    "local_date": "Tuesday 2 March",
    "local_time": "10:00",
    "timezone": "Europe/Amsterdam",
    "areas": "face and neck",
    "manage_url": "https://book.clinic.example/manage/sample?token=sample",
}
_MANAGER = {
    "clinic_name": "Canal District Skin Clinic",
    "item_name": "Nano cartridge, 36 pins",
    "stock_url": "https://ops.clinic.example/inventory/clinics/sample/stock",
}


@dataclass(frozen=True)
class Kind:
    name: str
    audience: Audience
    category: Category
    # Urgent messages are sent at once, even in quiet hours: the patient needs them to act now.
    urgent: bool
    channels: tuple[Channel, ...]
    sample: dict[str, str] = field(repr=False)
    summary: str = ""

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(self.sample)


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("confirmation", "patient", "care", True, ("email", "sms"), _VISIT,
             "the visit is booked: when and where, how to prepare, the manage link (e-mail adds a calendar file)"),
        Kind("reminder", "patient", "care", False, ("email", "sms"), _VISIT,
             "a reminder before the visit (24 hours by default)"),
        Kind("rescheduled", "patient", "care", True, ("email", "sms"),
             {**_VISIT, "previous_local_start": "Monday 1 March 2027, 15:30"},
             "the visit moved: the new time, and the old one for reference"),
        Kind("cancelled", "patient", "care", True, ("email", "sms"),
             {**_VISIT, "cancelled_by": "patient", "book_url": "https://book.clinic.example/clinics/sample"},
             "the visit is cancelled (by the patient, the clinic or the system) and how to book again"),
        Kind("rejected", "patient", "care", True, ("email", "sms"),
             {**_VISIT, "book_url": "https://book.clinic.example/clinics/sample"},
             "the requested visit could not go ahead (no supplies for it): an apology and a link to pick another time"),
        Kind("aftercare_same_day", "patient", "care", False, ("email", "sms"), _VISIT,
             "the evening of the visit: looking after the skin today"),
        Kind("aftercare_next_day", "patient", "care", False, ("email", "sms"), _VISIT,
             "the next morning: a gentle routine, sun protection"),
        Kind("aftercare_check", "patient", "care", False, ("email", "sms"), _VISIT,
             "a few days later: has the redness settled; whom to call if not"),
        Kind("next_session", "patient", "marketing", False, ("email", "sms"),
             {**_PATIENT, "session_number": "2", "window_from": "Tuesday 30 March", "window_until": "Tuesday 27 April",
              "book_url": "https://book.clinic.example/clinics/sample", "unsubscribe_url":
              "https://book.clinic.example/unsubscribe?token=sample"},
             "a suggestion to book the next session of the course inside its window"),
        Kind("waitlist_offer", "patient", "care", True, ("email", "sms"),
             {**_VISIT, "expires_local": "12:30 on Monday 1 March", "offer_url":
              "https://book.clinic.example/waitlist/sample?token=sample"},
             "a time the patient waited for is free and held for them until the offer expires"),
        Kind("recall_notice", "patient", "care", False, ("email", "sms"),
             {**_PATIENT, "treated_on": "Tuesday 2 March 2027"},
             "a batch of supplies used at the patient's visit was recalled by its maker: what it means, whom to call"),
        Kind("stock_low", "manager", "alert", True, ("email",),
             {**_MANAGER, "available": "14", "reorder_point": "20", "unit": "each"},
             "an item fell below the clinic's reorder point"),
        Kind("lot_expiring", "manager", "alert", True, ("email",),
             {**_MANAGER, "lot_number": "L2407A", "expires_on": "31 March 2027", "on_hand": "40"},
             "a lot in stock expires soon"),
        Kind("shortfall_projected", "manager", "alert", True, ("email",),
             {**_MANAGER, "on_date": "Thursday 4 March 2027", "required": "12", "available": "7", "unit": "each"},
             "booked visits on a day need more than the usable stock"),
        Kind("lot_recalled", "manager", "alert", True, ("email",),
             {**_MANAGER, "lot_number": "L2407A", "affected_count": "3", "notified_count": "2",
              "unreachable_count": "1"},
             "a lot was recalled: visits treated with it, how many patients were told and how many to call"),
    )
}  # fmt: skip
