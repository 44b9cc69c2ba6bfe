"""The sandbox clinic templates run in, and the checks a template passes before it is saved.

Kept apart from the rest of rendering so that the separate process that runs clinic templates
(`notifications.service.template_process`) starts by importing Jinja and this module only: a child that
imported the service (SQLAlchemy, the adapters) took two seconds to start, longer than a template may run."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from clinic_shared.errors import InvalidInput
from notifications.domain.kinds import KINDS

SMS_MAX_CHARS = 480  # three concatenated segments
SOURCE_MAX_CHARS = 20_000
OUTPUT_MAX_CHARS = 20_000
# CPU time a clinic template may take to render, measured in the process that renders it.
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


class TemplateRefused(InvalidInput):
    code = "template_refused"


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    body: str


def blocks_for(channel: str) -> tuple[str, ...]:
    return ("subject", "body") if channel == "email" else ("body",)


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
