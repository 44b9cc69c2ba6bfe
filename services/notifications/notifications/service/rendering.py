"""Templates: Jinja2 per kind, channel and locale. The chain's defaults are files in
`notifications/templates/<locale>/<kind>.<channel>.j2`; a clinic's own versions are rows in the
`templates` table (the newest version wins; a version without text puts the clinic back on the default).

A template holds a `subject` block (e-mail only) and a `body` block of plain text. The e-mail's HTML is
built from that text by one layout (paragraphs, bullet lines that start with "- ", links), so a clinic
edits one text per message and every e-mail keeps the same look and footer.

Clinic templates are edited by people, so they run in Jinja's immutable sandbox with strict undefined
variables, and are checked when saved: they must parse, have the blocks their channel needs, use only
the variables the kind provides, and render with the kind's sample."""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any
from uuid import UUID

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, TemplateError, meta, select_autoescape
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from clinic_shared.errors import InvalidInput
from notifications.adapters.repositories import Templates
from notifications.domain.kinds import KINDS

DEFAULT_LOCALE = "en"
SMS_MAX_CHARS = 480  # three concatenated segments
SOURCE_MAX_CHARS = 20_000
OUTPUT_MAX_CHARS = 20_000
CHECK_TIMEOUT_S = 2.0


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with the operators that can build huge values bounded: `**` is
    refused, and `*` may not repeat a string or a list beyond the output limit."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError("the ** operator is not available in message templates")
        if isinstance(left, str | list | tuple) or isinstance(right, str | list | tuple):
            sequence, times = (left, right) if isinstance(left, str | list | tuple) else (right, left)
            if isinstance(times, int) and len(sequence) * times > OUTPUT_MAX_CHARS:
                raise SecurityError("a repeated value may not exceed the message's length limit")
        return super().call_binop(context, operator, left, right)


SANDBOX = BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
LAYOUT = Environment(
    loader=PackageLoader("notifications", "templates"), autoescape=select_autoescape(["html", "j2"])
).get_template("layout.html.j2")
URL = re.compile(r"https?://[^\s<>\"]+")
LOCALE = re.compile(r"[a-z]{2}(-[A-Z]{2})?")


class TemplateRefused(InvalidInput):
    code = "template_refused"


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    body: str


def blocks_for(channel: str) -> tuple[str, ...]:
    return ("subject", "body") if channel == "email" else ("body",)


@lru_cache(maxsize=64)
def default_source(kind: str, channel: str, locale: str) -> str | None:
    path = resources.files("notifications").joinpath("templates", locale, f"{kind}.{channel}.j2")
    return path.read_text(encoding="utf-8") if path.is_file() else None


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    return SANDBOX.from_string(source)


def render(source: str, context: dict[str, Any], channel: str) -> Rendered:
    """The template's blocks with this context; a template that writes more than the limit is stopped."""
    template = _compiled(source)
    parts = {}
    for name in blocks_for(channel):
        pieces, size = [], 0
        for piece in template.blocks[name](template.new_context(context)):
            size += len(piece)
            if size > OUTPUT_MAX_CHARS:
                raise SecurityError(f"the template writes more than {OUTPUT_MAX_CHARS} characters")
            pieces.append(piece)
        parts[name] = "".join(pieces).strip()
    return Rendered(subject=parts.get("subject"), body=parts["body"])


def check(kind: str, channel: str, source: str) -> Rendered:
    """Refuse a template that would fail when sent; return it rendered with the kind's sample."""
    known = KINDS.get(kind)
    if known is None:
        raise TemplateRefused(f"no such kind of message: {kind}", field="kind")
    if channel not in known.channels:
        raise TemplateRefused(f"{kind} is not sent by {channel}", field="channel")
    if len(source) > SOURCE_MAX_CHARS:
        raise TemplateRefused(f"a template has at most {SOURCE_MAX_CHARS} characters", field="source")
    try:
        parsed = SANDBOX.parse(source)
        template = SANDBOX.from_string(source)
    except TemplateError as error:
        line = getattr(error, "lineno", None)
        raise TemplateRefused(f"the template does not parse{f' (line {line})' if line else ''}: {error.message}",
                              field="source") from error  # fmt: skip
    missing = [name for name in blocks_for(channel) if name not in template.blocks]
    if missing:
        raise TemplateRefused(
            f"a {channel} template needs the blocks {', '.join(blocks_for(channel))}; missing: {', '.join(missing)}",
            field="source",
        )
    unknown = sorted(meta.find_undeclared_variables(parsed) - known.variables)
    if unknown:
        raise TemplateRefused(
            f"unknown variables: {', '.join(unknown)}; {kind} offers {', '.join(sorted(known.variables))}",
            field="source",
        )
    try:
        rendered = render(source, dict(known.sample), channel)
    except Exception as error:  # any failure of a sandboxed render is the template's
        raise TemplateRefused(f"the template does not render: {error}", field="source") from error
    if rendered.subject is not None and ("\n" in rendered.subject or not rendered.subject):
        raise TemplateRefused("the subject must be one non-empty line", field="source")
    if not rendered.body:
        raise TemplateRefused("the body is empty", field="source")
    if channel == "sms" and len(rendered.body) > SMS_MAX_CHARS:
        raise TemplateRefused(
            f"a text message has at most {SMS_MAX_CHARS} characters "
            f"(this one renders {len(rendered.body)} with sample values)",
            field="source",
        )
    return rendered


class TemplateTooSlow(RuntimeError):
    """A clinic's template ran past its time at send time: the message fails for good, with this reason."""


class Isolated:
    """Clinic templates, checked and rendered in a separate process that is stopped after
    CHECK_TIMEOUT_S: a template that loops for ever (or only does with some patient's data) is refused
    at save, or fails its message at send, instead of holding an API or worker process. One process
    each, started on first use and replaced after a timeout. The chain's own templates, which are
    trusted, render in-process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: Any = None

    async def check(self, kind: str, channel: str, source: str) -> Rendered:
        verdict, first, second = await asyncio.to_thread(self._run, _check_in_child, (kind, channel, source))
        if verdict == "timeout":
            raise TemplateRefused(
                f"the template takes more than {CHECK_TIMEOUT_S:g} s to render with sample data", field="source"
            )
        if verdict == "refused":
            raise TemplateRefused(first or "refused", field=second)
        return Rendered(subject=first, body=second or "")

    async def render(self, source: str, context: dict[str, Any], channel: str) -> Rendered:
        verdict, first, second = await asyncio.to_thread(self._run, _render_in_child, (source, context, channel))
        if verdict == "timeout":
            raise TemplateTooSlow(f"the clinic's template took more than {CHECK_TIMEOUT_S:g} s to render")
        if verdict == "failed":
            raise TemplateTooSlow(f"the clinic's template failed to render: {first}")
        return Rendered(subject=first, body=second or "")

    def _run(self, function: Any, args: tuple[Any, ...]) -> tuple[str, str | None, str | None]:
        with self._lock:
            if self._pool is None:
                self._pool = multiprocessing.get_context("spawn").Pool(1)
                atexit.register(self.close)
            pending = self._pool.apply_async(function, args)
            try:
                outcome: tuple[str, str | None, str | None] = pending.get(timeout=CHECK_TIMEOUT_S)
            except multiprocessing.TimeoutError:
                self._pool.terminate()
                self._pool = None
                return "timeout", None, None
        return outcome

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.terminate()
                self._pool.join()
                self._pool = None


def _check_in_child(kind: str, channel: str, source: str) -> tuple[str, str | None, str | None]:
    """`check`, answered in plain values (a domain error does not cross processes intact)."""
    try:
        rendered = check(kind, channel, source)
    except TemplateRefused as refused:
        return "refused", refused.message, refused.field
    return "ok", rendered.subject, rendered.body


def _render_in_child(source: str, context: dict[str, Any], channel: str) -> tuple[str, str | None, str | None]:
    try:
        rendered = render(source, context, channel)
    except Exception as error:  # the template's own failure, reported by kind only
        return "failed", type(error).__name__, None
    return "ok", rendered.subject, rendered.body


ISOLATED = Isolated()


@dataclass(frozen=True)
class Source:
    text: str
    clinics_own: bool  # a clinic's version (rendered isolated) rather than the chain's default


async def current_source(store: Templates, *, clinic_id: UUID, kind: str, channel: str, locale: str) -> Source:
    """The clinic's newest version for this locale, else the default for it, else English. A locale
    that is not a plain language tag (it comes from another service) counts as English."""
    if not LOCALE.fullmatch(locale):
        locale = DEFAULT_LOCALE
    for candidate in dict.fromkeys((locale, DEFAULT_LOCALE)):
        newest = await store.newest(clinic_id=clinic_id, kind=kind, channel=channel, locale=candidate)
        if newest is not None and newest.source is not None:
            return Source(newest.source, clinics_own=True)
        default = default_source(kind, channel, candidate)
        if default is not None:
            return Source(default, clinics_own=False)
    raise LookupError(f"no template for {kind} by {channel}")


async def render_for_sending(source: Source, context: dict[str, Any], channel: str) -> Rendered:
    if source.clinics_own:
        return await ISOLATED.render(source.text, context, channel)
    return render(source.text, context, channel)


def _linked(line: str) -> Markup:
    out, last = [], 0
    for match in URL.finditer(line):
        out.append(escape(line[last : match.start()]))
        url = match.group(0).rstrip(".,;)")
        out.append(Markup('<a href="{0}" style="color:#8a4b3a;">{0}</a>').format(url))
        last = match.start() + len(url)
    out.append(escape(line[last:]))
    return Markup("").join(out)


def email_html(*, subject: str, body: str, footer: list[str], clinic_name: str, locale: str) -> str:
    """The HTML part: the text's paragraphs and bullet lists, links made clickable, in the layout."""
    blocks: list[dict[str, Any]] = []
    for paragraph in re.split(r"\n\s*\n", body.strip()):
        lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
        if lines and all(line.startswith("- ") for line in lines):
            blocks.append({"bullets": [_linked(line[2:]) for line in lines]})
        else:
            blocks.append({"text": Markup("<br>").join(_linked(line) for line in lines)})
    return LAYOUT.render(
        subject=subject, blocks=blocks, footer=[_linked(line) for line in footer], clinic_name=clinic_name,
        locale=locale,
    )  # fmt: skip
