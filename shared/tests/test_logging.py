from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from clinic_shared import context
from clinic_shared.logging import configure_logging, get_logger

pytestmark = pytest.mark.unit


class JsonLogs:
    """Started inside the test body: pytest resets root handlers after fixture set-up."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def start(self) -> None:
        configure_logging(service="booking", level="INFO")

    def lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self._capsys.readouterr().out.splitlines() if line.startswith("{")]


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> Iterator[JsonLogs]:
    yield JsonLogs(capsys)
    logging.getLogger().handlers.clear()


def test_log_lines_are_json_with_the_service_and_the_correlation_id(logs: JsonLogs) -> None:
    logs.start()
    with context.bound(correlation_id="req-123"):
        get_logger("t").info("clinic_registered", clinic_id="c-1")
    [line] = logs.lines()
    assert line["event"] == "clinic_registered"
    assert line["correlation_id"] == "req-123"
    assert line["service"] == "booking"
    assert line["clinic_id"] == "c-1"


def test_personal_fields_never_reach_a_log_line(logs: JsonLogs) -> None:
    logs.start()
    get_logger("t").info("patient_contact_changed", email="ann@example.org", phone="+31612345678", patient_id="p-1")
    [line] = logs.lines()
    assert line["email"] == line["phone"] == "[redacted]"
    assert line["patient_id"] == "p-1"
    assert "ann@example.org" not in json.dumps(line)


def test_standard_library_loggers_go_through_the_same_pipeline(logs: JsonLogs) -> None:
    logs.start()
    logging.getLogger("aio_pika").warning("connection lost")
    [line] = logs.lines()
    assert line["event"] == "connection lost"
    assert line["level"] == "warning"


def test_outgoing_http_calls_are_not_logged_with_their_query_strings(logs: JsonLogs) -> None:
    logs.start()
    logging.getLogger("httpx").info('HTTP Request: GET http://127.0.0.1/availability?areas=face "HTTP/1.1 200 OK"')
    logging.getLogger("httpx").warning("a call failed")

    assert [line["event"] for line in logs.lines()] == ["a call failed"]
