"""Templates: Jinja2 per kind, channel and locale. The chain's defaults are files in
`notifications/templates/<locale>/<kind>.<channel>.j2`; a clinic's own versions are rows in the
`templates` table (the newest version wins; a version without text puts the clinic back on the default).

A template holds a `subject` block (e-mail only) and a `body` block of plain text. The e-mail's HTML is
built from that text by one layout (paragraphs, bullet lines that start with "- ", links), so a clinic
edits one text per message and every e-mail keeps the same look and footer.

Clinic templates are edited by people, so they run in Jinja's immutable sandbox with strict undefined
variables, and are checked when saved: they must parse, have the blocks their channel needs, use only
the variables the kind provides, and render with the kind's sample (`sandbox`). They are checked and
rendered in a separate process with a CPU-time limit (`template_process`); the chain's own templates,
which are trusted, render here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any
from uuid import UUID

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from notifications.adapters.repositories import Templates
from notifications.service.sandbox import Rendered, render
from notifications.service.template_process import Isolated

DEFAULT_LOCALE = "en"
LAYOUT = Environment(
    loader=PackageLoader("notifications", "templates"), autoescape=select_autoescape(["html", "j2"])
).get_template("layout.html.j2")
URL = re.compile(r"https?://[^\s<>\"]+")
LOCALE = re.compile(r"[a-z]{2}(-[A-Z]{2})?")

# One process per API or worker process; started with it (see main.py) or on first use.
ISOLATED = Isolated()


@lru_cache(maxsize=64)
def default_source(kind: str, channel: str, locale: str) -> str | None:
    path = resources.files("notifications").joinpath("templates", locale, f"{kind}.{channel}.j2")
    return path.read_text(encoding="utf-8") if path.is_file() else None


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
