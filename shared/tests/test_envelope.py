"""The envelope keeps one parametrised class per event type."""

from __future__ import annotations

import gc
import weakref
from uuid import uuid4

import pytest

from clinic_shared.events import Envelope
from clinic_shared.events.catalogue import Address, ClinicChanged

pytestmark = pytest.mark.unit


def _changed() -> ClinicChanged:
    return ClinicChanged(
        clinic_id=uuid4(),
        revision=1,
        name="Herengracht",
        address=Address(line1="Herengracht 1", city="Amsterdam", postal_code="1015 BS", country="NL"),
        timezone="Europe/Amsterdam",
        phone="+31 20 555 0100",
    )


def test_the_parametrised_envelope_class_outlives_a_garbage_collection() -> None:
    # pydantic holds `Envelope[X]` weakly; rebuilding it on every publish cost a model build each time.
    built = weakref.ref(type(Envelope.wrap(_changed(), producer="booking")))
    gc.collect()
    assert built() is not None
    assert type(Envelope.wrap(_changed(), producer="booking")) is built()


def test_a_wrapped_payload_serialises_with_its_own_fields() -> None:
    payload = _changed()
    body = Envelope.wrap(payload, producer="booking").to_json_dict()
    assert body["payload"] == payload.model_dump(mode="json")
    assert body["type"] == "booking.clinic.changed"
