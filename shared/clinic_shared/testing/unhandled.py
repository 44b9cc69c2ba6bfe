"""Every unhandled exception in an API during a test run fails the run, even where the test that caused
it never looked at the answer (a race that counts status codes, a fuzzer, a service in its own process).

In this process, the APIs count them in `http_unhandled_errors_total`; services started as processes
log `http_unhandled_error`, and their logs are read when the run ends. A test that means to cause one
says so with the `expect_unhandled_errors` fixture."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from clinic_shared.metrics import HTTP_UNHANDLED

MARKER = '"event": "http_unhandled_error"'


@dataclass
class UnhandledErrors:
    expected: int = 0
    service_logs: list[Path] = field(default_factory=list)
    # The tests during which this process's APIs counted unexpected ones, with what they logged.
    during: list[str] = field(default_factory=list)

    @staticmethod
    def counted_here() -> int:
        return int(sum(s.value for m in HTTP_UNHANDLED.collect() for s in m.samples if s.name.endswith("_total")))

    def found(self) -> list[str]:
        """One line per unexpected unhandled error: where it happened."""
        surplus = self.counted_here() - self.expected
        found = [f"{surplus} in this process, during:", *self.during] if surplus else []
        for log in self.service_logs:
            if log.exists():
                found += [f"{log.name}: {line[:300]}" for line in log.read_text().splitlines() if MARKER in line]
        return found


RECORD = UnhandledErrors()


@pytest.fixture
def expect_unhandled_errors() -> Iterator[Callable[[int], None]]:
    """`expect_unhandled_errors(n)`: this test causes exactly n unhandled errors in APIs of this process."""
    before = RECORD.counted_here()
    expected = 0

    def expect(count: int) -> None:
        nonlocal expected
        expected += count
        RECORD.expected += count

    yield expect
    assert RECORD.counted_here() - before == expected, "the test caused another number of unhandled errors"


class _Logged(logging.Handler):
    """What the APIs of this process log as unhandled, kept until the test that caused it ends."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if "http_unhandled_error" in text:
            self.lines.append(text[-1500:])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Names the test (its set-up and tear-down included) during which an unexpected one happened."""
    logged = _Logged()
    logging.getLogger("clinic_shared.web").addHandler(logged)
    before, expected_before = RECORD.counted_here(), RECORD.expected
    try:
        yield
    finally:
        logging.getLogger("clinic_shared.web").removeHandler(logged)
        surplus = (RECORD.counted_here() - before) - (RECORD.expected - expected_before)
        if surplus > 0:
            RECORD.during.append(f"  {item.nodeid}: {surplus}")
            RECORD.during += [f"    {line}" for line in logged.lines]


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    found = RECORD.found()
    if not found:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.section("unhandled errors in the services (each answered 500)", sep="=", red=True, bold=True)
        for line in found:
            reporter.write_line(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
