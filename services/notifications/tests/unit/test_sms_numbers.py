"""Phone numbers: E.164, with the separators people type allowed and removed."""

from __future__ import annotations

import pytest

from notifications.adapters.sms import normalised_phone, valid_phone

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("+31612345678", "+31612345678"),
        ("+31 6 1234 5678", "+31612345678"),
        ("+31-6-1234-5678", "+31612345678"),
        ("+1 (415) 555-0134", "+14155550134"),
        ("+4912345678", "+4912345678"),  # 8 digits, the shortest allowed
        ("+123456789012345", "+123456789012345"),  # 15 digits, the longest E.164 allows
    ],
)
def test_numbers_in_e164_are_valid_and_lose_their_separators(written: str, normalised: str) -> None:
    assert valid_phone(written)
    assert normalised_phone(written) == normalised


@pytest.mark.parametrize(
    "written",
    [
        "",
        "0612345678",  # national format, no country code
        "0031612345678",  # international prefix instead of +
        "+0612345678",  # country codes do not start with 0
        "+1234567",  # 7 digits: too short
        "+1234567890123456",  # 16 digits: too long
        "+31 6 1234 567a",
        "+31.6.1234.5678",
        "++31612345678",
        "+31612345678 ext 2",
    ],
)
def test_numbers_not_in_e164_are_invalid(written: str) -> None:
    assert not valid_phone(written)
    # The whole message, so that it is known not to hold the number: errors reach the logs.
    with pytest.raises(ValueError, match=r"^not an E\.164 phone number$"):
        normalised_phone(written)
