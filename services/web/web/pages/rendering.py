"""Rendering pages: one Jinja environment per language (gettext installed), static URLs that change
when a file does (so the gateway can cache them for a year), and htmx partials: a request from htmx
gets only the block it asked for (`HX-Target` names it), everything else the whole page."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2_fragments import render_block

from web import i18n
from web.service import views
from web.sessions import csrf_token

PACKAGE = Path(__file__).resolve().parents[1]
MACROS = ("area_name", "hidden", "csrf_field", "error", "invalid")
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"


@lru_cache(maxsize=256)
def static_url(path: str) -> str:
    """`/static/<path>?v=<content hash>`; the gateway serves /static/ with a year-long cache lifetime."""
    file = STATIC / path
    version = hashlib.sha256(file.read_bytes()).hexdigest()[:12] if file.is_file() else "missing"
    return f"/static/{path}?v={version}"


@lru_cache(maxsize=16)
def environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        static_url=static_url,
        locale=locale,
        clock=partial(views.clock, locale=locale),
        moment=partial(views.moment, locale=locale),
        long_day=partial(views.long_day, locale=locale),
        short_day=partial(views.short_day, locale=locale),
        delta=lambda days: timedelta(days=days),
    )
    # The macros every template uses, as globals: a block rendered alone for htmx sees no imports.
    macros = env.get_template("partials/macros.html").module
    env.globals.update({name: getattr(macros, name) for name in MACROS})
    return env


def locale_of(request: Request) -> str:
    return i18n.negotiate(request.headers.get("accept-language"))


def gettext(request: Request) -> Any:
    """`_` for messages written in Python (errors the pages explain)."""
    return i18n.translations(locale_of(request)).gettext


def redirect(request: Request, url: str) -> Response:
    """After a form: a 303 to `url`, or for htmx a full page load of it (`HX-Redirect`), since a
    redirect followed inside the swapped block would nest one page in another."""
    if request.headers.get("hx-request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    """The page, or only the block an htmx request targets (`hx-target="#<block>"`)."""
    env = environment(locale_of(request))
    # `csrf()` in a form: the session (and its token) is made only for pages that have a form.
    values = {"request": request, "csrf": lambda: csrf_token(request), **(context or {})}
    if values.get("errors"):  # our wordings (marked N_) in the visitor's language; an API's own text as it came
        translate = i18n.translations(locale_of(request)).gettext
        values["errors"] = {name: translate(message) for name, message in values["errors"].items()}
    target = request.headers.get("hx-target") if request.headers.get("hx-request") == "true" else None
    values["partial"] = target is not None  # a block alone, for htmx
    if target and target in env.get_template(template).blocks:
        html = render_block(env, template, target, **values)
    else:
        html = env.get_template(template).render(**values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
