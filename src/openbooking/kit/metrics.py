"""Prometheus metrics (the `prometheus-client` package), served at `GET /metrics`.

Every label is bounded: routes are the templates of the routes (never raw paths, which carry
record hashes), methods the standard ones, statuses the answers' codes, providers and kinds
fixed names from the code.

`openbooking serve` sets `PROMETHEUS_MULTIPROC_DIR` before any worker starts (and before this
module is imported: see `cli._metrics_dir`): each process then writes its values to files there,
and whichever worker answers `/metrics` adds up the files of all of them. prometheus-client
picks that mode when it is first imported, so the variable must be set before then; without it
(tests, `uvicorn --factory` by hand) the values are this process's own.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "openbooking_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "openbooking_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
BOOKINGS_CREATED = Counter("openbooking_bookings_created", "Appointments booked.")
BOOKINGS_CANCELLED = Counter("openbooking_bookings_cancelled", "Appointments cancelled.")
SMS_SENT = Counter("openbooking_sms_sent", "SMS the gateway accepted, by provider.", ["provider"])
SMS_FAILED = Counter(
    "openbooking_sms_failed", "SMS the gateway refused, by provider.", ["provider"]
)
THROTTLES = Counter(
    "openbooking_throttles",
    "Requests refused with 429, by the limit that refused them.",
    ["kind"],
)
DB_CONNECTIONS_IN_USE = Gauge(
    "openbooking_db_connections_in_use",
    "Database connections checked out of the pool (summed over the live worker processes).",
    multiprocess_mode="livesum",
)
AVAILABILITY_CACHE = Counter(
    "openbooking_availability_cache",
    "Availability reads whose location team came from the process cache (hit) or the database "
    "(miss).",
    ["result"],
)


# Each request's two series, found once per (method, route, status) rather than through
# `labels()` (a lock and the labels' validation) on every request. Bounded like the labels.
_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_MAX_SERIES = 10_000


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    series = _SERIES.get(key)
    if series is None:
        label = method if method in _METHODS else "other"
        series = (REQUESTS.labels(label, route, str(status)), LATENCY.labels(label, route))
        if len(_SERIES) < _MAX_SERIES:
            _SERIES[key] = series
    series[0].inc()
    series[1].observe(seconds)


def watch_pool(engine: AsyncEngine) -> None:
    """Count the engine's checked-out connections in `openbooking_db_connections_in_use`."""
    from sqlalchemy import event  # noqa: PLC0415

    pool = engine.sync_engine.pool

    def checkout(*_args: Any) -> None:
        DB_CONNECTIONS_IN_USE.inc()

    def checkin(*_args: Any) -> None:
        DB_CONNECTIONS_IN_USE.dec()

    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)


def exposition() -> bytes:
    """The text format of every metric: of all worker processes in multiprocess mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def process_exit() -> None:
    """Drop this process's live gauges (in multiprocess mode), at shutdown."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess  # noqa: PLC0415

        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
