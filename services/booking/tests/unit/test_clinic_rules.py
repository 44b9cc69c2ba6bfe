from __future__ import annotations

from datetime import time

import pytest

from booking.domain import (
    Address,
    Clinic,
    InvalidOpeningHours,
    InvalidPhone,
    OpeningHours,
    OpeningInterval,
    UnknownTimezone,
    normalised_phone,
)

pytestmark = pytest.mark.unit

ADDRESS = Address(line1="Herengracht 1", city="Amsterdam", postal_code="1015 BS", country="NL")


def _clinic(**overrides: object) -> Clinic:
    options: dict[str, object] = {
        "name": "  Canal Clinic ",
        "address": ADDRESS,
        "timezone": "Europe/Amsterdam",
        "phone": "+31 (20) 555-0120",
        "opening_hours": OpeningHours.of({"monday": [OpeningInterval(time(9), time(17))]}),
    }
    options.update(overrides)
    return Clinic.register(**options)  # type: ignore[arg-type]


def test_a_registered_clinic_has_a_tidy_name_an_e164_phone_and_revision_one() -> None:
    clinic = _clinic()
    assert clinic.name == "Canal Clinic"
    assert clinic.phone == "+31205550120"
    assert clinic.revision == 1


@pytest.mark.parametrize("zone", ["Mars/Olympus", "CET+1", "/etc/localtime", ""])
def test_a_time_zone_must_be_an_iana_key(zone: str) -> None:
    with pytest.raises(UnknownTimezone) as error:
        _clinic(timezone=zone)
    assert error.value.field == "timezone"


@pytest.mark.parametrize("phone", ["0205550120", "+0 20 555", "call us", "+31 20 555 0120 ext 4"])
def test_a_phone_must_be_international(phone: str) -> None:
    with pytest.raises(InvalidPhone):
        normalised_phone(phone)


def test_a_clinic_must_open_before_it_closes() -> None:
    with pytest.raises(InvalidOpeningHours) as error:
        OpeningHours.of({"friday": [OpeningInterval(time(18), time(9))]})
    assert error.value.field == "opening_hours.friday"


def test_opening_intervals_of_a_day_may_not_overlap() -> None:
    with pytest.raises(InvalidOpeningHours, match="overlap on thursday"):
        OpeningHours.of({"thursday": [OpeningInterval(time(13), time(21)), OpeningInterval(time(9), time(13, 30))]})


def test_a_lunch_break_is_two_intervals_kept_in_order() -> None:
    hours = OpeningHours.of({"thursday": [OpeningInterval(time(14), time(21)), OpeningInterval(time(9), time(13))]})
    assert [i.opens for i in hours.days["thursday"]] == [time(9), time(14)]
    assert "monday" not in hours.days


def test_every_change_bumps_the_revision_and_keeps_what_was_not_given() -> None:
    clinic = _clinic()
    changed = clinic.changed(phone="+44 20 7946 0018").changed(name="Canal Clinic West")
    assert changed.revision == 3
    assert changed.phone == "+442079460018"
    assert changed.name == "Canal Clinic West"
    assert changed.timezone == clinic.timezone
    assert changed.id == clinic.id
