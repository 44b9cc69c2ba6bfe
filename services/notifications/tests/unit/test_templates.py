"""Templates: every default renders for every kind and channel with its sample; a clinic's template is
refused at save when it would fail at send; links are scoped to their purpose."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from clinic_shared import manage_links
from clinic_shared.auth import NotAuthenticated
from notifications import links
from notifications.domain.kinds import KINDS
from notifications.service import rendering, sandbox
from notifications.service.sandbox import TemplateRefused

pytestmark = pytest.mark.unit

SECRET = "s" * 48


@pytest.mark.parametrize(("kind", "channel"), [(k.name, c) for k in KINDS.values() for c in k.channels])
def test_every_default_template_passes_the_check_it_would_face_at_save(kind: str, channel: str) -> None:
    source = rendering.default_source(kind, channel, "en")
    assert source is not None, f"no default for {kind} by {channel}"
    rendered = sandbox.check(kind, channel, source)
    assert rendered.body
    assert (rendered.subject is not None) == (channel == "email")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{% block body %}Hello {{ name }{% endblock %}", "does not parse"),
        ("{% block subject %}Hi{% endblock %}", "missing: body"),
        ("{% block subject %}Hi{% endblock %}{% block body %}{{ diagnosis }}{% endblock %}", "unknown variables"),
        ("{% block subject %}Hi{% endblock %}{% block body %}{{ name.__class__ }}{% endblock %}", "does not render"),
        ("{% block subject %}Hi\nthere{% endblock %}{% block body %}x{% endblock %}", "one non-empty line"),
        ("{% block subject %}Hi{% endblock %}{% block body %}{{ 1 / 0 }}{% endblock %}", "does not render"),
    ],
)
def test_a_broken_email_template_is_refused_with_the_reason(source: str, expected: str) -> None:
    with pytest.raises(TemplateRefused) as refused:
        sandbox.check("confirmation", "email", source)
    assert expected in refused.value.message
    assert refused.value.field == "source"


def test_a_text_message_must_stay_short_and_a_kind_must_have_the_channel() -> None:
    with pytest.raises(TemplateRefused, match="at most"):
        sandbox.check("reminder", "sms", "{% block body %}" + "x" * 500 + "{% endblock %}")
    with pytest.raises(TemplateRefused, match="not sent by sms"):
        sandbox.check("stock_low", "sms", "{% block body %}x{% endblock %}")


def test_the_html_part_escapes_the_text_and_links_urls() -> None:
    html = rendering.email_html(
        subject="s", body="Hi <b>you</b>\n\n- one\n- two https://x.example/a?b=1.", footer=["f"],
        clinic_name="C", locale="en",
    )  # fmt: skip
    assert "&lt;b&gt;you&lt;/b&gt;" in html
    assert "<li>one</li>" in html
    assert '<a href="https://x.example/a?b=1"' in html, "the full stop is not part of the link"


def test_preference_and_unsubscribe_links_pass_only_for_their_own_purpose() -> None:
    patient = uuid.uuid4()
    preferences = links.preferences_token(SECRET, patient_id=patient)
    unsubscribe = links.unsubscribe_token(SECRET, patient_id=patient, channel="sms", category="marketing")
    manage = manage_links.issue(
        SECRET, appointment_id=uuid.uuid4(), patient_id=patient,
        visit_ends_at=datetime.now(UTC),
    )  # fmt: skip

    assert links.verify_preferences(SECRET, preferences) == patient
    assert links.verify_unsubscribe(SECRET, unsubscribe) == links.Unsubscribe(patient, "sms", "marketing")
    for wrong in (unsubscribe, manage):
        with pytest.raises(NotAuthenticated):
            links.verify_preferences(SECRET, wrong)
    with pytest.raises(NotAuthenticated):
        links.verify_unsubscribe(SECRET, preferences)
    with pytest.raises(NotAuthenticated):
        manage_links.verify(SECRET, preferences)
    with pytest.raises(NotAuthenticated):
        links.verify_preferences("t" * 48, preferences)
