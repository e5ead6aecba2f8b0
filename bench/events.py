"""Booking throughput on one popular group-event session. Prints one JSON object.

    .venv/bin/python -m bench.events [--quick] [--postgres URL] [--workers N]

A real `openbooking serve` process (SQLite by default) and 64 clients that each book one seat
of the same session (`POST /api/v1/activity/{location}/{session}/book`, every client with its
own phones) until it is full, then keep asking and get "no places left" (441). Every booking
queues on the session's row, so this measures the one serial path that a popular class has.
Each round cancels nothing: a new session of a weekly series is filled. The cheapest
authenticated endpoint (`i18n`) gives the baseline of the run, and the figures are ratios to
it. Afterwards the database is checked: no session holds more seats than its capacity, and it
holds exactly the seats that were acknowledged. Progress goes to stderr. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench import dataset, load
from bench.run import TRIVIAL_PATH, headers, machine
from openbooking.kit.db import create_engine, is_sqlite
from openbooking.models import EventSession, Record
from openbooking.models.records import RECORD_ACTIVE

CLIENTS = 64
LOCATION_ID = 1
EVENT_ID = 10
NO_PLACES = 441


@dataclass(frozen=True)
class Budget:
    rounds: int  # sessions filled, one after another
    capacity: int  # seats of each session
    baseline_seconds: float
    warmup_seconds: float
    clients: int = CLIENTS


FULL = Budget(rounds=5, capacity=1000, baseline_seconds=10, warmup_seconds=2)
QUICK = Budget(rounds=2, capacity=200, baseline_seconds=3, warmup_seconds=1)


def log(message: str) -> None:
    print(f"[bench.events] {message}", file=sys.stderr, flush=True)


def business(capacity: int) -> dict[str, Any]:
    """One location, one leader who works every day, a class every day at 18:00."""
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return {
        "version": 1,
        "locations": [
            {
                "id": LOCATION_ID,
                "title": "Bench studio",
                "timezone": "Europe/Berlin",
                "country_code": "DE",
                "booking": {"horizon_days": 30},
                "categories": [{"id": 2, "title": "Classes"}],
                "services": [
                    {"id": 3, "title": "Yoga", "category": 2, "duration": "1h", "active": False}
                ],
                "staff": [
                    {
                        "id": 4,
                        "name": "Leader",
                        "schedule": {"weekly": {day: ["08:00-22:00"] for day in days}},
                    }
                ],
                "events": [
                    {
                        "id": EVENT_ID,
                        "service": 3,
                        "staff": 4,
                        "capacity": capacity,
                        "weekly": {day: ["18:00"] for day in days},
                    }
                ],
            }
        ],
    }


@dataclass
class Tally:
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    seats: int = 0
    seconds_to_full: float = 0.0
    attempts_to_full: int = 0


async def fill(clients: list[httpx.AsyncClient], url: str, round_number: int, tally: Tally) -> None:
    """Every client books seats (one at a time, new phones) until it is told the session is
    full; the time from the first request to the last acknowledged seat."""
    started = time.perf_counter()
    full_at = started
    attempts = 0

    async def one(index: int, client: httpx.AsyncClient) -> None:
        nonlocal full_at, attempts
        n = 0
        while True:
            n += 1
            phone = f"+49151{round_number:02d}{index:02d}{n:04d}"
            body = {"fullname": f"Client {index}", "phone": phone, "clients_count": 1}
            began = time.perf_counter()
            response = await client.post(url, json=body)
            tally.latencies.append(time.perf_counter() - began)
            attempts += 1
            if response.status_code == 200:
                tally.seats += 1
                tally.statuses["200"] += 1
                full_at = time.perf_counter()
                continue
            code = ""
            if response.status_code == 422:
                errors = response.json().get("meta", {}).get("errors") or [{}]
                code = f"/{errors[0].get('code', '')}"
            tally.statuses[f"{response.status_code}{code}"] += 1
            if code == f"/{NO_PLACES}" or response.status_code >= 500:
                return

    await asyncio.gather(*(one(index, client) for index, client in enumerate(clients)))
    tally.seconds_to_full += full_at - started
    tally.attempts_to_full += attempts


async def sessions(base_url: str, token: str, rounds: int) -> list[int]:
    today = datetime.now(UTC).date()
    params = {
        "from": (today + timedelta(days=1)).isoformat(),
        "till": (today + timedelta(days=rounds + 1)).isoformat(),
    }
    async with httpx.AsyncClient(base_url=base_url, headers=headers(token)) as client:
        response = await client.get(f"/api/v1/activity/{LOCATION_ID}/search", params=params)
        response.raise_for_status()
        return [item["id"] for item in response.json()["data"]][:rounds]


async def book(base_url: str, token: str, budget: Budget) -> Tally:
    tally = Tally()
    ids = await sessions(base_url, token, budget.rounds)
    async with load.clients(headers(token), budget.clients) as clients:
        for number, session_id in enumerate(ids):
            url = f"{base_url}/api/v1/activity/{LOCATION_ID}/{session_id}/book"
            await fill(clients, url, number, tally)
            log(f"round {number + 1}/{len(ids)}: {tally.seats} seats so far")
    return tally


async def stored(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            taken = (
                select(Record.activity_id, func.sum(Record.clients_count).label("seats"))
                .where(Record.status == RECORD_ACTIVE, Record.activity_id.is_not(None))
                .group_by(Record.activity_id)
                .subquery()
            )
            rows = (
                await connection.execute(
                    select(EventSession.capacity, taken.c.seats).join(
                        taken, taken.c.activity_id == EventSession.id
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    return {
        "seats": sum(int(seats) for _, seats in rows),
        "oversold_sessions": sum(1 for capacity, seats in rows if seats > capacity),
    }


def bench(url: str, workers: int, budget: Budget, folder: Path) -> dict[str, Any]:
    today = dataset.local_today()
    log(f"database: {'SQLite' if is_sqlite(url) else 'PostgreSQL'}, {workers} worker(s)")
    if not is_sqlite(url):
        asyncio.run(dataset.drop_tables(url))
    database = asyncio.run(dataset.build(url, business(budget.capacity), today, 0))
    with load.Server(database.url, folder / "server.log", workers=workers) as server:
        auth = headers(database.token)
        trivial = f"{server.base_url}{TRIVIAL_PATH}"
        log(f"baseline: i18n, {budget.clients} connections, {budget.baseline_seconds:g} s")
        load.drive(server, trivial, auth, budget.clients, budget.warmup_seconds)
        baseline = load.drive(server, trivial, auth, budget.clients, budget.baseline_seconds)
        tally = asyncio.run(book(server.base_url, database.token, budget))
    checks = asyncio.run(stored(url))
    seats_per_s = tally.seats / tally.seconds_to_full if tally.seconds_to_full else 0.0
    attempts_per_s = tally.attempts_to_full / tally.seconds_to_full if tally.seconds_to_full else 0
    latencies = sorted(tally.latencies)
    server_errors = sum(n for status, n in tally.statuses.items() if status.startswith("5"))
    return {
        "setup": {
            "database": "SQLite file (WAL)" if is_sqlite(url) else "PostgreSQL",
            "server": f"openbooking serve: uvicorn, {workers} worker(s), log level warning",
            "clients": budget.clients,
            "sessions": budget.rounds,
            "capacity": budget.capacity,
            "phone_confirmation": False,
        },
        "baseline_i18n": {"client": load.client_name(), **asdict(baseline)},
        "booking": {
            "statuses": dict(tally.statuses),
            "seats": tally.seats,
            "seats_per_s": round(seats_per_s, 1),
            "attempts_per_s_until_full": round(attempts_per_s, 1),
            "p50_ms": round(load.percentile(latencies, 50) * 1e3, 2) if latencies else None,
            "p99_ms": round(load.percentile(latencies, 99) * 1e3, 2) if latencies else None,
        },
        "ratios": {"seats_per_s_vs_i18n": round(seats_per_s / baseline.rps, 3)},
        "invariants": {
            **checks,
            "acknowledged": tally.seats,
            "server_errors": server_errors,
            "ok": checks["oversold_sessions"] == 0
            and checks["seats"] == tally.seats == budget.rounds * budget.capacity
            and server_errors == 0,
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.events", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="2 sessions of 200 seats")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run against this PostgreSQL database instead of a temporary SQLite file; its "
        'tables are dropped first (its name must contain "bench" or "test")',
    )
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--clients", type=int, default=CLIENTS, help="concurrent clients")
    args = parser.parse_args(argv)
    budget = replace(QUICK if args.quick else FULL, clients=args.clients)
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {**machine(), "load_average_1m_before": os.getloadavg()[0]},
    }
    with tempfile.TemporaryDirectory(prefix="openbooking-bench-") as tmp:
        folder = Path(tmp)
        url = args.postgres or dataset.sqlite_url(folder / "events.db")
        result.update(bench(url, args.workers, budget, folder))
    result["machine"]["load_average_1m_after"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))
    if not result["invariants"]["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
