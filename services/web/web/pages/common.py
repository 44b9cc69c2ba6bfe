"""What the page routes share: the APIs, the visitor's address, the settings, and the form check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from web.clients import Apis
from web.sessions import Session, check_csrf, session_of
from web.settings import WebSettings


def _apis(request: Request) -> Apis:
    apis: Apis = request.app.state.apis
    return apis


def _settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def _visitor(request: Request) -> str | None:
    """The visitor's address (the gateway's X-Forwarded-For, which uvicorn trusts from the gateway
    only), passed on to the APIs so their rate limits count visitors, not this service."""
    return request.client.host if request.client else None


ApisDep = Annotated[Apis, Depends(_apis)]
SettingsDep = Annotated[WebSettings, Depends(_settings)]
Visitor = Annotated[str | None, Depends(_visitor)]
SessionDep = Annotated[Session, Depends(session_of)]
# On every route that changes something: the form carries this session's CSRF token.
CSRF = Depends(check_csrf)
