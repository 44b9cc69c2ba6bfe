"""Clinic templates are checked and rendered in a separate process, so a template that loops for ever
(or only does with some patient's data) is refused at save, or fails its own message at send, instead
of holding an API or worker process.

The limit is CPU time spent rendering, counted by the child itself (`ITIMER_PROF`), not wall-clock time
seen by the parent: on a busy machine the wall clock also counts the child's start and every other
process, and a two-second limit on it refused good templates. The parent waits at most
`BACKSTOP_S` for an answer (a child stuck outside Python), then replaces the child.

The protocol is one JSON object per line: `{"op": "check"|"render", ...}` in, `{"verdict": ...}` out.
Run as `python -m notifications.service.template_process`; it imports Jinja and the sandbox only."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

from notifications.service.sandbox import CHECK_TIMEOUT_S, Rendered, TemplateRefused, check, render

# Wall-clock time the parent waits for the child's answer, start-up included, before replacing it.
BACKSTOP_S = 30.0
_LINE_LIMIT = 1 << 20  # answers hold up to two 20,000-character blocks, JSON-escaped


class TemplateTooSlow(RuntimeError):
    """A clinic's template ran past its time at send time: the message fails for good, with this reason."""


class _OutOfTime(BaseException):
    """Raised in the child when its CPU timer fires; a BaseException, so no `except Exception` in the
    rendering path can swallow it."""


def _out_of_time(signum: int, frame: Any) -> None:
    raise _OutOfTime


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """The child's answer to one request, within CHECK_TIMEOUT_S of CPU time."""
    try:
        try:
            signal.setitimer(signal.ITIMER_PROF, CHECK_TIMEOUT_S)
            return _answer(request)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
    except _OutOfTime:
        return {"verdict": "timeout"}


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    if request["op"] == "check":
        try:
            rendered = check(request["kind"], request["channel"], request["source"])
        except TemplateRefused as refused:
            return {"verdict": "refused", "message": refused.message, "field": refused.field}
    else:
        try:
            rendered = render(request["source"], request["context"], request["channel"])
        except Exception as error:  # the template's own failure, reported by kind only
            return {"verdict": "failed", "reason": type(error).__name__}
    return {"verdict": "ok", "subject": rendered.subject, "body": rendered.body}


def main() -> None:
    signal.signal(signal.SIGPROF, _out_of_time)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when this process ends
    for line in sys.stdin.buffer:
        sys.stdout.write(json.dumps(answer(json.loads(line))) + "\n")
        sys.stdout.flush()


class Isolated:
    """The parent's side: one child at a time, started on first use (or by `start`), asked one request
    at a time, and replaced when it stops answering."""

    def __init__(self) -> None:
        self._child: asyncio.subprocess.Process | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The child started ahead of the first template and ended with the process (API and worker)."""
        await self.start()
        try:
            yield
        finally:
            await self.close()

    async def start(self) -> None:
        """Start the child and let it import what it renders with."""
        await self._ask({"op": "render", "source": "{% block body %}ready{% endblock %}", "context": {},
                         "channel": "sms"})  # fmt: skip

    async def check(self, kind: str, channel: str, source: str) -> Rendered:
        reply = await self._ask({"op": "check", "kind": kind, "channel": channel, "source": source})
        if reply["verdict"] == "timeout":
            raise TemplateRefused(
                f"the template takes more than {CHECK_TIMEOUT_S:g} s to render with sample data", field="source"
            )
        if reply["verdict"] == "refused":
            raise TemplateRefused(reply["message"], field=reply["field"])
        if reply["verdict"] != "ok":
            raise TemplateRefused("the template could not be checked; try again", field="source")
        return Rendered(subject=reply["subject"], body=reply["body"])

    async def render(self, source: str, context: dict[str, Any], channel: str) -> Rendered:
        reply = await self._ask({"op": "render", "source": source, "context": context, "channel": channel})
        if reply["verdict"] == "timeout":
            raise TemplateTooSlow(f"the clinic's template took more than {CHECK_TIMEOUT_S:g} s to render")
        if reply["verdict"] != "ok":
            raise TemplateTooSlow(f"the clinic's template failed to render: {reply.get('reason', 'no answer')}")
        return Rendered(subject=reply["subject"], body=reply["body"])

    async def close(self) -> None:
        child, self._child = self._child, None
        if child is not None and child.returncode is None:
            child.kill()
            with contextlib.suppress(ProcessLookupError, RuntimeError):
                await child.wait()

    async def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        async with self._lock_here():
            child = await self._running_child()
            assert child.stdin is not None
            assert child.stdout is not None
            try:
                child.stdin.write(json.dumps(request, default=str).encode() + b"\n")
                await child.stdin.drain()
                async with asyncio.timeout(BACKSTOP_S):
                    line = await child.stdout.readline()
            except (TimeoutError, ConnectionError):
                line = b""
            if not line:  # stuck or gone: the next request gets a new child
                await self.close()
                return {"verdict": "timeout", "reason": "no answer"}
            reply: dict[str, Any] = json.loads(line)
            return reply

    def _lock_here(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a child's pipes belong to the event loop that started it
            if self._child is not None and self._child.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    self._child.kill()
            self._child, self._loop, self._lock = None, loop, asyncio.Lock()
        assert self._lock is not None
        return self._lock

    async def _running_child(self) -> asyncio.subprocess.Process:
        if self._child is None or self._child.returncode is not None:
            self._child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", __name__,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=_LINE_LIMIT,
            )  # fmt: skip
        return self._child


if __name__ == "__main__":
    main()
