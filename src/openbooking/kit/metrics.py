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

import asyncio
import math
import os
from bisect import bisect_left
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
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENCY = Histogram(
    "openbooking_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
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
BUSY_TIME_CACHE = Counter(
    "openbooking_busy_time_cache",
    "Members whose busy time an availability read took from what the process kept (kept) or "
    "read from the database (read).",
    ["result"],
)


# The requests answered since the last flush, added up per series: (count, seconds, count per
# latency bucket). Each write of a value is a lock and, in multiprocess mode, a write to a
# memory-mapped file: three per request cost a cheap request several % of its CPU, against
# three per series per flush. Written at most FLUSH_SECONDS after the first one and before
# every exposition, so this process's own scrape is always exact and another worker's
# requests show up within FLUSH_SECONDS.
FLUSH_SECONDS = 1.0
_BOUNDS = [*LATENCY_BUCKETS, math.inf]  # the histogram's buckets, +Inf last as it adds it
_pending: dict[tuple[str, str, int], list[Any]] = {}
_counted: dict[tuple[Counter, tuple[str, ...]], float] = {}  # `count`'s, by counter and labels
_flush_at: tuple[asyncio.AbstractEventLoop, asyncio.TimerHandle] | None = None


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its latency (written by `flush`)."""
    key = (method if method in _METHODS else "other", route, status)
    pending = _pending.get(key)
    first = pending is None
    if pending is None:
        pending = _pending[key] = [0, 0.0, [0] * len(_BOUNDS)]
    pending[0] += 1
    pending[1] += seconds
    pending[2][bisect_left(_BOUNDS, seconds)] += 1  # the first bucket whose bound >= seconds
    if first:
        _schedule_flush()


def count(counter: Counter, *labels: str, amount: float = 1) -> None:
    """Add `amount` to a counter's series (`labels` in the counter's order), written by `flush`
    like the requests: for the counters a hot path adds to on every request."""
    key = (counter, labels)
    if key in _counted:
        _counted[key] += amount
    else:
        _counted[key] = amount
        _schedule_flush()


def _schedule_flush() -> None:
    global _flush_at  # noqa: PLW0603 - one timer per process
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no event loop: nothing would run the timer
        flush()
        return
    if _flush_at is None or _flush_at[0] is not loop:  # none yet, or on a loop now gone
        _flush_at = (loop, loop.call_later(FLUSH_SECONDS, flush))


def flush() -> None:
    """Write the requests and the `count`s since the last flush to their series."""
    global _flush_at  # noqa: PLW0603 - one timer per process
    if _flush_at is not None:
        _flush_at[1].cancel()
        _flush_at = None
    pending = list(_pending.items())
    _pending.clear()
    counted = list(_counted.items())
    _counted.clear()
    for (counter, labels), amount in counted:
        (counter.labels(*labels) if labels else counter).inc(amount)
    for (method, route, status), (requests, seconds, buckets) in pending:
        REQUESTS.labels(method, route, str(status)).inc(requests)
        latency = LATENCY.labels(method, route)
        # The histogram's own values, as `observe` writes them one observation at a time.
        latency._sum.inc(seconds)
        for index, hits in enumerate(buckets):
            if hits:
                latency._buckets[index].inc(hits)


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
    flush()
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def process_exit() -> None:
    """Write what is counted, and drop this process's live gauges (in multiprocess mode), at
    shutdown."""
    flush()
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess  # noqa: PLC0415

        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
