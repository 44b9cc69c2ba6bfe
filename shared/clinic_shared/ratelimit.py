"""Rate limits for public endpoints: a token bucket per client address and route, in process.

Each API replica limits on its own, so the effective limit is per replica; a gateway in front can
enforce a global one. Over the limit: 429 with Retry-After.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from fastapi import Depends, Request

from clinic_shared.errors import DomainError

# Buckets of clients not seen for a while are dropped oldest first beyond this many.
MAX_TRACKED_CLIENTS = 50_000


class TooManyRequests(DomainError):
    code = "too_many_requests"

    def __init__(self, retry_after_s: float) -> None:
        super().__init__("too many requests; try again shortly", details={"retry_after_s": round(retry_after_s, 1)})
        self.retry_after_s = retry_after_s


class TokenBucket:
    def __init__(self, *, per_minute: int, burst: int) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str, *, now: float | None = None) -> float:
        """0 when allowed; otherwise the seconds until the next request would be."""
        now = time.monotonic() if now is None else now
        tokens, seen = self._buckets.pop(client, (self._burst, now))
        tokens = min(self._burst, tokens + (now - seen) * self._rate)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / self._rate
        self._buckets[client] = (tokens - 1 if wait == 0 else tokens, now)
        while len(self._buckets) > MAX_TRACKED_CLIENTS:
            self._buckets.popitem(last=False)
        return wait


async def _public_limit(request: Request) -> None:
    """Limits from the service's settings (`PUBLIC_RATE_PER_MINUTE`, `PUBLIC_RATE_BURST`); one bucket
    per client address and route."""
    bucket: TokenBucket | None = getattr(request.app.state, "public_rate_bucket", None)
    if bucket is None:
        settings = request.app.state.settings
        bucket = TokenBucket(per_minute=settings.public_rate_per_minute, burst=settings.public_rate_burst)
        request.app.state.public_rate_bucket = bucket
    client = request.client.host if request.client else "unknown"
    route = getattr(request.scope.get("route"), "path", "")
    wait = bucket.take(f"{client} {request.method} {route}")
    if wait:
        raise TooManyRequests(wait)


PUBLIC_RATE_LIMIT: Any = Depends(_public_limit)
"""For public routes: `dependencies=[PUBLIC_RATE_LIMIT]`."""
