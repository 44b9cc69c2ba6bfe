"""Prometheus metrics. One process registry: an API process and a worker process each expose theirs."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
HTTP_UNHANDLED = Counter(
    "http_unhandled_errors_total", "Requests that ended in an unhandled exception (answered 500)", ["service"]
)
TRANSACTIONS_RETRIED = Counter(
    "transactions_retried_total", "Requests run again after a deadlock or serialization failure", ["service", "reason"]
)
EVENTS_PUBLISHED = Counter("events_published_total", "Events confirmed by the broker", ["service", "routing_key"])
EVENTS_CONSUMED = Counter(
    "events_consumed_total", "Events handled and acknowledged", ["service", "consumer", "outcome"]
)
EVENTS_RETRIED = Counter("events_retried_total", "Events sent to a retry tier", ["service", "consumer", "tier"])
EVENTS_DEAD_LETTERED = Counter(
    "events_dead_lettered_total", "Events sent to an error queue", ["service", "consumer", "reason"]
)
OUTBOX_PENDING = Gauge("outbox_pending_events", "Outbox rows not yet confirmed by the broker", ["service"])
OUTBOX_LAG = Gauge("outbox_lag_seconds", "Age of the oldest unpublished outbox row", ["service"])
