"""The process clinic templates run in: its limit counts the CPU time of rendering, so a cold start on a
machine whose cores are both busy still passes a good template, and a template that loops is still
stopped, by the limit and not by the parent's backstop."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from notifications.service.rendering import default_source
from notifications.service.sandbox import CHECK_TIMEOUT_S, TemplateRefused
from notifications.service.template_process import BACKSTOP_S, Isolated, TemplateTooSlow

pytestmark = pytest.mark.integration

LOOPING = (
    "{% block body %}{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}x{% endblock %}"
)


@pytest.fixture
def both_cores_busy() -> Iterator[None]:
    """Two processes that spin for as long as the test runs."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(0.5)
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


async def test_a_cold_start_on_a_busy_machine_passes_a_good_template_and_still_stops_a_looping_one(
    both_cores_busy: None,
) -> None:
    isolated = Isolated()
    try:
        source = default_source("confirmation", "email", "en")
        assert source is not None

        checked = await isolated.check("confirmation", "email", source)  # the child starts here

        assert checked.subject
        assert "Canal District Skin Clinic" in checked.body
        started = time.monotonic()
        with pytest.raises(TemplateRefused, match=f"takes more than {CHECK_TIMEOUT_S:g} s"):
            await isolated.check("reminder", "sms", LOOPING)
        assert time.monotonic() - started < BACKSTOP_S, "stopped by the CPU limit, not by the backstop"
    finally:
        await isolated.close()


async def test_a_template_that_runs_out_of_time_fails_its_message_and_the_process_goes_on() -> None:
    isolated = Isolated()
    try:
        await isolated.start()
        child = isolated._child
        assert child is not None

        with pytest.raises(TemplateTooSlow, match="took more than"):
            await isolated.render(LOOPING, {}, "sms")
        rendered = await isolated.render("{% block body %}Hello {{ name }}{% endblock %}", {"name": "Sam"}, "sms")

        assert rendered.body == "Hello Sam"
        assert isolated._child is child, "the same process: nothing was restarted"
    finally:
        await isolated.close()


async def test_a_process_that_died_is_replaced_on_the_next_template() -> None:
    isolated = Isolated()
    try:
        await isolated.start()
        assert isolated._child is not None
        isolated._child.kill()
        await isolated._child.wait()

        rendered = await isolated.render("{% block body %}again{% endblock %}", {}, "sms")

        assert rendered.body == "again"
    finally:
        await isolated.close()
