"""The visitor's session, as `request.session` (where Authlib keeps its sign-in state too), stored
server-side (`adapters/sessions.py`) behind an HttpOnly, SameSite=Lax cookie.

Patients get one when they first need it (a hold, a link they opened); staff get a new one at sign-in
(`begin`), so a session id seen before sign-in is never a signed-in one. Each kind has its own idle
and absolute limits. Forms carry a CSRF token from the session (`csrf_token`, `check_csrf`)."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any, Literal

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clinic_shared.auth import Forbidden
from web.adapters.sessions import TOUCH_EVERY, SessionStore, StoredSession

COOKIE = "clinic_session"
Kind = Literal["patient", "staff"]


class Session(dict[str, Any]):
    """A dict that knows whether it changed, and whether it must start afresh or end."""

    def __init__(self, data: dict[str, Any], *, lapsed: bool = False) -> None:
        super().__init__(data)
        self.changed = False
        self.renewed = False
        self.ended = False
        self.lapsed = lapsed  # the browser brought a session that ran out (or was ended elsewhere)

    def __setitem__(self, key: str, value: Any) -> None:
        self.changed = True
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.changed = True
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        self.changed = self.changed or key in self
        return super().pop(key, *default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.changed = self.changed or key not in self
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.changed = True
        super().update(*args, **kwargs)

    def clear(self) -> None:
        self.changed = True
        super().clear()

    @property
    def kind(self) -> Kind:
        return "staff" if self.get("kind") == "staff" else "patient"

    def begin(self, kind: Kind, **data: Any) -> None:
        """Start a new session of this kind (new id, new limits), keeping nothing of the old one."""
        super().clear()
        super().update(data, kind=kind)
        self.changed = self.renewed = True

    def end(self) -> None:
        super().clear()
        self.ended = True


class SessionMiddleware:
    def __init__(self, app: ASGIApp, *, limits: dict[Kind, tuple[timedelta, timedelta]], secure: bool) -> None:
        self.app = app
        self.limits = limits  # kind -> (idle, absolute)
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        store = SessionStore(scope["app"].state.engine)
        token = _cookie(scope)
        stored = await store.load(token) if token else None
        session = Session(stored.data if stored else {}, lapsed=token is not None and stored is None)
        scope["session"] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = await self._persist(store, session, stored)
                if cookie is not None:
                    MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def _persist(self, store: SessionStore, session: Session, stored: StoredSession | None) -> str | None:
        """Write what changed; the Set-Cookie header when the browser must learn a new token."""
        if session.ended or (session.lapsed and not session.changed):
            if stored is not None:
                await store.end(stored.id)
            return self._cookie("", max_age=0)  # the browser forgets a token that opens nothing
        if session.renewed or (stored is None and session.changed):
            idle, absolute = self.limits[session.kind]
            token = await store.create(dict(session), idle=idle, absolute=absolute,
                                       replacing=stored.id if stored else None)  # fmt: skip
            return self._cookie(token, max_age=int(absolute.total_seconds()))
        if stored is not None and session.changed:
            await store.save(stored.id, dict(session))
        elif stored is not None and datetime.now(UTC) - stored.last_seen_at > TOUCH_EVERY:
            await store.touch(stored.id)
        return None

    def _cookie(self, token: str, *, max_age: int) -> str:
        parts = [f"{COOKIE}={token}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)


def _cookie(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            jar.load(value.decode("latin-1"))
            if COOKIE in jar:
                return jar[COOKIE].value or None
    return None


LinkKind = Literal["visits", "waitlist"]


def remember_link(session: Session, kind: LinkKind, key: Any, token: str) -> None:
    """The token of a patient's link (to a visit, or a waitlist entry), kept for this session instead
    of in the address bar."""
    session[kind] = {**session.get(kind, {}), str(key): token}


def link_token(session: Session, kind: LinkKind, key: Any) -> str | None:
    token = session.get(kind, {}).get(str(key))
    return str(token) if token else None


def session_of(request: Request) -> Session:
    session: Session = request.scope["session"]
    return session


def csrf_token(request: Request) -> str:
    """The token every state-changing form of this session carries (made when first needed)."""
    session = session_of(request)
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


async def check_csrf(request: Request) -> None:
    """For every POST: the form's token must be this session's (a cross-site form cannot know it)."""
    form = await request.form()
    sent = form.get("csrf")
    expected = session_of(request).get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        raise Forbidden("this form has expired; open the page again", field="csrf")
