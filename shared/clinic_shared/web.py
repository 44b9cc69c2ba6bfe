"""What every service's HTTP process has: request context and metrics middleware, one error body,
`/healthz`, `/readyz`, `/metrics`, and an OpenAPI page that works offline."""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import date, datetime
from datetime import time as time_of_day
from typing import Annotated, Any

import swagger_ui_bundle
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clinic_shared import context
from clinic_shared.auth import Forbidden, IdentityProviderUnavailable, NotAuthenticated
from clinic_shared.db import transient_conflict
from clinic_shared.errors import Conflict, DomainError, InvalidInput, NotFound
from clinic_shared.logging import get_logger
from clinic_shared.metrics import HTTP_LATENCY, HTTP_REQUESTS, HTTP_UNHANDLED, TRANSACTIONS_RETRIED
from clinic_shared.outbox import export_lag_metrics
from clinic_shared.ratelimit import TooManyRequests

log = get_logger(__name__)

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

ReadinessCheck = Callable[[], Awaitable[bool]]


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer has this shape."""

    code: str
    message: str
    field: str | None = None
    errors: list[dict[str, Any]] | None = None
    details: dict[str, Any] | None = None


def error_response(description: str) -> dict[str, Any]:
    """An OpenAPI response entry for a route's `responses=`: the shared error body."""
    return {"model": ErrorBody, "description": description}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: error_response("Missing or invalid bearer token"),
    403: error_response("Role or clinic outside the caller's scope"),
    422: error_response("Invalid input; `field` names it"),
}

BASE_ERROR_STATUS: Mapping[type[DomainError], int] = {
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    IdentityProviderUnavailable: 503,
    TooManyRequests: 429,
}


class RequestContextMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware task hop): request id in and out, metrics, one log line."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else str(uuid.uuid4())
        traceparent = headers.get(b"traceparent", b"").decode("latin-1") or None
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        with context.bound(correlation_id=request_id, traceparent=traceparent):
            try:
                await self.app(scope, receive, send_with_id)
            except ClientDisconnect:
                # The visitor went away before their request was read whole (a page left, a request
                # htmx replaced): nobody is waiting for an answer, and nothing failed here.
                status = 499
            except Exception:
                # Answered 500 by Starlette; counted so that a test run (or an alert) sees every one.
                HTTP_UNHANDLED.labels(self.service).inc()
                log.exception("http_unhandled_error", method=scope["method"], path=scope["path"])
                raise
            finally:
                elapsed = time.perf_counter() - started
                route = getattr(scope.get("route"), "path", "unmatched")
                method = scope["method"]
                HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
                HTTP_LATENCY.labels(self.service, method, route).observe(elapsed)
                log.info("http_request", method=method, route=route, status=status, ms=round(elapsed * 1000, 2))


class TransactionRetryMiddleware:
    """Runs a request again from the start when its transaction lost a deadlock or a serialization
    conflict to a concurrent one. PostgreSQL rolled that transaction back whole, so nothing of the first
    attempt is left, and the caller gets the answer a calmer moment would have given (a 201, or a 409
    naming what was taken) instead of a 500. Only while nothing has been sent; the request body is
    replayed as the first attempt read it. Use cases take their locks in one order where they can;
    this covers the waits that cannot be ordered (two exclusion-constraint checks waiting on each other)."""

    def __init__(self, app: ASGIApp, *, service: str, attempts: int = 4) -> None:
        self.app = app
        self.service = service
        self.attempts = attempts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        started = False

        async def recording(message_source: Receive = receive) -> Message:
            message = await message_source()
            received.append(message)
            return message

        async def watching(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        for attempt in range(1, self.attempts + 1):
            replay = iter(list(received))

            async def replaying(replay: Any = replay) -> Message:
                return next(replay, None) or await recording()

            try:
                await self.app(scope, replaying, watching)
                return
            except Exception as error:
                reason = transient_conflict(error)
                if reason is None or started or attempt == self.attempts:
                    raise
                TRANSACTIONS_RETRIED.labels(self.service, reason).inc()
                log.warning("transaction_retried", reason=reason, attempt=attempt, route=scope["path"])
                # A short random pause, so the transactions that collided do not collide again in step.
                await asyncio.sleep(random.uniform(0.005, 0.02 * attempt))  # noqa: S311


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body = ErrorBody(code=code, message=message, **extra).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status)


def install_error_handlers(app: FastAPI, error_status: Mapping[type[DomainError], int]) -> None:
    table = {**BASE_ERROR_STATUS, **error_status}

    async def on_domain_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, DomainError)
        status = next((table[cls] for cls in type(error).__mro__ if cls in table), 400)
        response = _error(status, error.code, error.message, field=error.field, details=error.details)
        if status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        if isinstance(error, TooManyRequests):
            response.headers["Retry-After"] = str(max(1, round(error.retry_after_s)))
        return response

    async def on_validation_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        details = [
            {"field": ".".join(str(part) for part in e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in error.errors()
        ]
        first = details[0] if details else {"field": None, "message": "invalid request"}
        return _error(422, "validation_error", str(first["message"]), field=first["field"], errors=details)

    async def on_http_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        return _error(error.status_code, f"http_{error.status_code}", str(error.detail))

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)


def health_router(
    *, service: str, engine: AsyncEngine, checks: Mapping[str, ReadinessCheck], outbox: bool = True
) -> APIRouter:
    router = APIRouter(tags=["operations"], include_in_schema=True)

    @router.get("/healthz", summary="Process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get(
        "/readyz",
        summary="Dependencies reachable",
        responses={503: {"description": "a dependency is not ready; `checks` says which"}},
    )
    async def readyz() -> JSONResponse:
        results = {name: await _safely(check) for name, check in checks.items()}
        ready = all(results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "service": service, "checks": results},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        try:
            if outbox:
                await export_lag_metrics(engine, service=service)
        except Exception:  # metrics must still answer while the database is down
            log.warning("outbox_lag_unavailable")
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _safely(check: ReadinessCheck) -> bool:
    try:
        return await check()
    except Exception:
        return False


def database_check(engine: AsyncEngine) -> ReadinessCheck:
    async def check() -> bool:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True

    return check


class ForwardedPrefixMiddleware:
    """Behind the gateway an API answers under `/api/<service>/` (nginx strips the prefix and names it
    in `X-Forwarded-Prefix`): the prefix becomes the request's root path, so the docs page and its
    OpenAPI document point at URLs that work from where the visitor is. Only a prefix of that shape is
    taken; it changes links, never which route answers."""

    _PREFIX = re.compile(rb"^/api/[a-z]{1,32}$")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            prefix = dict(scope["headers"]).get(b"x-forwarded-prefix", b"")
            if self._PREFIX.match(prefix):
                scope = {**scope, "root_path": prefix.decode()}
        await self.app(scope, receive, send)


def mount_offline_docs(app: FastAPI, *, title: str) -> None:
    """Swagger UI from the installed `swagger-ui-bundle` package: no CDN, works on a closed network.
    The OpenAPI document names, per request, the root the visitor reached the API under."""
    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        document = app.openapi()
        return JSONResponse({**document, "servers": [{"url": root}]} if root else document)

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{title} API",
            swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
            swagger_favicon_url=f"{root}/docs/assets/favicon-32x32.png",
        )


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def build_app(
    *,
    service: str,
    title: str,
    description: str,
    engine: AsyncEngine,
    routers: Sequence[APIRouter],
    error_status: Mapping[type[DomainError], int],
    readiness: Mapping[str, ReadinessCheck],
    lifespan: Lifespan | None = None,
    version: str = "0.1.0",
    docs: bool = True,
    outbox: bool = True,
) -> FastAPI:
    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        try:
            if lifespan is None:
                yield
            else:
                async with lifespan(app):
                    yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title=title, description=description, version=version, docs_url=None, redoc_url=None, lifespan=run,
        openapi_url=None if docs else "/openapi.json",  # with docs, served per request (mount_offline_docs)
    )  # fmt: skip
    # The last added runs first: the request context wraps every attempt of a retried transaction.
    app.add_middleware(TransactionRetryMiddleware, service=service)
    app.add_middleware(RequestContextMiddleware, service=service)
    app.add_middleware(ForwardedPrefixMiddleware)
    install_error_handlers(app, error_status)
    app.include_router(health_router(service=service, engine=engine, checks=readiness, outbox=outbox))
    for router in routers:
        app.include_router(router)
    if docs:
        mount_offline_docs(app, title=title)
    return app


def _without_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    if isinstance(value, dict):
        for item in value.values():
            _without_nul(item)
    elif isinstance(value, list):
        for item in value:
            _without_nul(item)
    return value


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields refused, whitespace trimmed, and NUL characters
    (which PostgreSQL text cannot hold) refused as bad input rather than failing at the database."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        return _without_nul(data)


_HH_MM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _hh_mm(value: object) -> object:
    # Only the string form: pydantic would read a number as seconds since midnight in UTC, and an
    # offset-aware time cannot be compared with a clinic's wall-clock ones (that was a 500).
    if isinstance(value, time_of_day) and value.tzinfo is None:  # from our own code, when answering
        return value
    if not isinstance(value, str) or not _HH_MM.match(value):
        raise ValueError("give a local time as HH:MM, e.g. 09:00")
    return value


# A clinic's wall-clock time of day, as "HH:MM" both ways. Not JSON Schema's `format: time`, which is
# RFC 3339's and demands an offset.
LocalTime = Annotated[
    time_of_day,
    BeforeValidator(_hh_mm),
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": _HH_MM.pattern, "examples": ["09:00"]}),
]

EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2200, 12, 31)


def _sane_day(value: date) -> date:
    # PostgreSQL stores its extreme dates as +-infinity, which round-trip as strings, not dates, and a
    # time near year 1 or 9999 overflows once moved to UTC: anything a clinic can mean lies well inside.
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValueError(f"give a date between {EARLIEST_DAY} and {LATEST_DAY}")
    return value


def _sane_moment(value: datetime) -> datetime:
    _sane_day(value.date())
    return value


# Dates and times of request bodies and queries, bounded to what a clinic can mean (else a 422).
SaneDate = Annotated[date, AfterValidator(_sane_day)]
SaneDatetime = Annotated[AwareDatetime, AfterValidator(_sane_moment)]
