"""Run the availability benchmarks and print one JSON object on stdout.

    .venv/bin/python -m bench.run [--quick]

(a) `book_times` over HTTP against a real `openbooking serve` process, 64 connections, compared
    with the cheapest authenticated endpoint (`i18n`) of the same server: throughput ratio.
(b) `book_dates` for a month with any member (`staff_id=0`) at a 50-member location,
    in-process (httpx.ASGITransport): p50/p95 latency, next to the trivial endpoint's.
(c) `book_times` in-process with 1,000 and with 1,000,000 stored records: p50 ratio.

Nothing is asserted: every figure is a ratio against a baseline measured in the same run, or a
latency next to its target. Progress goes to stderr. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from bench import dataset, load
from openbooking.app import create_app
from openbooking.config import Settings
from openbooking.kit.envelope import ALTEGIO_MEDIA_TYPE

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

CONNECTIONS = 64
TRIVIAL_PATH = "/api/v1/i18n/en-US"
BOOK_DATES_DAYS = 31  # "a month", starting tomorrow
TARGET_HTTP_RATIO = 0.5  # book_times throughput / trivial throughput, at least
TARGET_BOOK_DATES_P95_MS = 20.0  # at most
TARGET_RECORDS_RATIO = 1.3  # p50 with 1M records / p50 with 1k records, at most
SATURATED = 0.8  # CPU seconds per second: a single-threaded process at its limit


@dataclass(frozen=True)
class Budget:
    """How long each benchmark runs."""

    http_seconds: float  # per endpoint
    http_warmup_seconds: float
    dates_requests: int
    times_requests: int  # per database
    warmup_requests: int
    large_records: int


FULL = Budget(10, 2, 200, 300, 30, 1_000_000)
QUICK = Budget(3, 1, 50, 100, 10, 100_000)


@dataclass(frozen=True)
class Target:
    """What is asked for: who, which service, which days."""

    today: date
    day: date  # the book_times date
    staff_id: int
    service_id: int

    @property
    def book_times(self) -> tuple[str, dict[str, Any]]:
        path = f"/api/v1/book_times/{dataset.LOCATION_ID}/{self.staff_id}/{self.day}"
        return path, {"service_ids[]": self.service_id}

    @property
    def book_dates(self) -> tuple[str, dict[str, Any]]:
        # From tomorrow: how much of today is still bookable depends on the hour of the run.
        first = self.today + timedelta(days=1)
        last = first + timedelta(days=BOOK_DATES_DAYS - 1)
        params = {
            "staff_id": 0,
            "date_from": first.isoformat(),
            "date_to": last.isoformat(),
            "service_ids[]": self.service_id,
        }
        return f"/api/v1/book_dates/{dataset.LOCATION_ID}", params


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": ALTEGIO_MEDIA_TYPE}


def pick_target(data: dict[str, Any], today: date) -> Target:
    """The first member of the benchmarked location who works a normal day on the date."""
    day = dataset.bench_day(today)
    for member in dataset.members(data):
        if member.location_id != dataset.LOCATION_ID:
            continue
        if day.weekday() in member.weekly and day not in member.unusual:
            service_id = dataset.service_ids(dataset.LOCATION_ID)[0]
            return Target(today, day, member.staff_id, service_id)
    raise RuntimeError(f"nobody works on {day}")


def summary(seconds: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(load.percentile(seconds, 50) * 1e3, 3),
        "p95_ms": round(load.percentile(seconds, 95) * 1e3, 3),
        "max_ms": round(max(seconds) * 1e3, 3),
    }


def checked(response: httpx.Response) -> Any:
    """The body of a 200 answer; anything else means the setup is wrong, not slow."""
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url} answered {response.status_code}")
    return response.json()


# ----------------------------------------------------------------------- (a) HTTP throughput


def bench_http(database: dataset.Database, target: Target, budget: Budget, folder: Path) -> Any:
    auth = headers(database.token)
    path, params = target.book_times
    with load.Server(database.url, folder / "server.log") as server:
        urls = {
            "trivial": f"{server.base_url}{TRIVIAL_PATH}",
            "book_times": str(httpx.URL(f"{server.base_url}{path}", params=params)),
        }
        slots = checked(httpx.get(urls["book_times"], headers=auth, timeout=30))["data"]
        if not slots:
            raise RuntimeError("book_times found no free slot; the benchmark would be hollow")
        results = {}
        for name, url in urls.items():
            log(f"(a) {name} over HTTP, {CONNECTIONS} connections, {budget.http_seconds:g} s")
            load.drive(server, url, auth, CONNECTIONS, budget.http_warmup_seconds)
            results[name] = load.drive(server, url, auth, CONNECTIONS, budget.http_seconds)
    ratio = results["book_times"].rps / results["trivial"].rps
    client_bound = any(is_client_bound(result) for result in results.values())
    return {
        "client": load.client_name(),
        "server": "openbooking serve: uvicorn, 1 worker, log level warning",
        "connections": CONNECTIONS,
        "seconds_per_endpoint": budget.http_seconds,
        "book_times_url": urls["book_times"].removeprefix(server.base_url),
        "free_slots": len(slots),
        "trivial": asdict(results["trivial"]),
        "book_times": asdict(results["book_times"]),
        "ratio": round(ratio, 3),
        "target": f">= {TARGET_HTTP_RATIO}",
        # When the load generator limits the baseline, the ratio proves nothing.
        "met": None if client_bound else ratio >= TARGET_HTTP_RATIO,
        "client_bound": client_bound,
        "note": (
            "the server was not saturated on every endpoint: the load generator set the pace, "
            "so the ratio is not the server's"
            if client_bound
            else "the server was saturated on both endpoints: the ratio is the server's"
        ),
    }


def is_client_bound(result: load.LoadResult) -> bool:
    """Whether the load generator, not the server, set the pace."""
    if result.server_cpu is not None:
        return result.server_cpu < SATURATED
    return (result.client_cpu or 0.0) >= SATURATED


# -------------------------------------------------------------------- (b), (c) in-process


async def timed(
    client: httpx.AsyncClient, path: str, params: dict[str, Any], count: int, warmup: int
) -> list[float]:
    """Seconds per request, one request at a time, after `warmup` untimed ones."""
    for _ in range(warmup):
        checked(await client.get(path, params=params))
    gc.collect()  # start without garbage left by whatever ran before
    return [await once(client, path, params) for _ in range(count)]


async def once(client: httpx.AsyncClient, path: str, params: dict[str, Any]) -> float:
    started = time.perf_counter()
    response = await client.get(path, params=params)
    seconds = time.perf_counter() - started
    checked(response)
    return seconds


@asynccontextmanager
async def in_process(database: dataset.Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling the ASGI app directly: no sockets, no HTTP parsing."""
    # httpx's ASGITransport asks for sniffio on every request; absent, each ask is a failed
    # import searching sys.path (about 0.7 ms, as much as a cheap request). Fail it at once.
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]
    app = create_app(Settings(database_url=database.url))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://bench",
            headers=headers(database.token),
        ) as client:
            yield client
    finally:
        await app.state.engine.dispose()


async def bench_dates(database: dataset.Database, target: Target, budget: Budget) -> Any:
    path, params = target.book_dates
    async with in_process(database) as client:
        data = checked(await client.get(path, params=params))["data"]
        log(f"(b) book_dates, {budget.dates_requests} requests in-process")
        dates = await timed(client, path, params, budget.dates_requests, budget.warmup_requests)
        trivial = await timed(
            client, TRIVIAL_PATH, {}, budget.dates_requests, budget.warmup_requests
        )
    result = summary(dates)
    return {
        "mode": "in-process: httpx.ASGITransport against openbooking.app.create_app",
        "requests": budget.dates_requests,
        "window": [params["date_from"], params["date_to"]],
        "members": dataset.MEMBERS,
        "working_dates": len(data["working_dates"]),
        "bookable_dates": len(data["booking_dates"]),
        **result,
        "trivial": summary(trivial),
        "target": f"p95 <= {TARGET_BOOK_DATES_P95_MS} ms",
        "met": result["p95_ms"] <= TARGET_BOOK_DATES_P95_MS,
    }


async def bench_records(
    small: dataset.Database, large: dataset.Database, target: Target, budget: Budget
) -> Any:
    path, params = target.book_times
    seconds: dict[str, list[float]] = {"small": [], "large": []}
    async with in_process(small) as small_client, in_process(large) as large_client:
        clients = {"small": small_client, "large": large_client}
        answers = [checked(await c.get(path, params=params)) for c in clients.values()]
        log(f"(c) book_times with {small.records:,} and {large.records:,} records, in-process")
        for client in clients.values():
            await timed(client, path, params, 0, budget.warmup_requests)
        # Alternate the two databases so that drift in the machine hits both alike.
        for turn in range(budget.times_requests):
            order = ("small", "large") if turn % 2 == 0 else ("large", "small")
            for name in order:
                seconds[name].append(await once(clients[name], path, params))
    small_result, large_result = summary(seconds["small"]), summary(seconds["large"])
    ratio = large_result["p50_ms"] / small_result["p50_ms"]
    return {
        "mode": "in-process: httpx.ASGITransport against openbooking.app.create_app",
        "requests_per_database": budget.times_requests,
        "same_answer": answers[0] == answers[1],
        "small": {"records": small.records, **small_result},
        "large": {"records": large.records, **large_result},
        "ratio": round(ratio, 3),
        "target": f"<= {TARGET_RECORDS_RATIO}",
        "met": ratio <= TARGET_RECORDS_RATIO,
    }


# ---------------------------------------------------------------------------------- main


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"short runs, {QUICK.large_records:,} instead of {FULL.large_records:,} records",
    )
    args = parser.parse_args(argv)
    budget = QUICK if args.quick else FULL
    today = dataset.local_today()
    data = dataset.business(today)
    target = pick_target(data, today)
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
    }
    with tempfile.TemporaryDirectory(prefix="openbooking-bench-") as tmp:
        folder = Path(tmp)
        log(f"building a database with {dataset.NEAR_RECORDS:,} records")
        small_url, large_url = (dataset.sqlite_url(folder / f"{n}.db") for n in ("small", "large"))
        small = asyncio.run(dataset.build(small_url, data, today, dataset.NEAR_RECORDS))
        log(f"building a database with {budget.large_records:,} records")
        large = asyncio.run(dataset.build(large_url, data, today, budget.large_records))
        log(f"built in {small.seconds:.1f} s and {large.seconds:.1f} s")
        result["setup"] = {
            "database": "SQLite file (WAL), migrated with openbooking.migrations.upgrade",
            "timezone": dataset.TIMEZONE,
            "slot_step_minutes": dataset.SLOT_STEP // 60,
            "horizon_days": dataset.HORIZON_DAYS,
            "today": today.isoformat(),
            "book_times_date": target.day.isoformat(),
            "location_id": dataset.LOCATION_ID,
            "members_per_location": dataset.MEMBERS,
            "staff_id": target.staff_id,
            "service_id": target.service_id,
            "records": {"small": small.records, "large": large.records},
            "build_seconds": {"small": round(small.seconds, 1), "large": round(large.seconds, 1)},
        }
        result["book_times_http"] = bench_http(large, target, budget, folder)
        result["book_dates"] = asyncio.run(bench_dates(large, target, budget))
        result["book_times_records"] = asyncio.run(bench_records(small, large, target, budget))
    if args.quick:
        result["note"] = (
            f"quick run: the large database holds {QUICK.large_records:,} records, not "
            f"{FULL.large_records:,}; judge the targets on a full run"
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
