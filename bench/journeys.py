"""A mixed load of customer journeys on loopback: browse, check, book, read back, cancel.

    python -m bench.journeys [--seconds 300] [--clients 32] [--postgres URL --workers 2]

Each virtual customer repeats one journey as a widget makes it: the location, its services,
the month's dates, a day's times (for a random member, or anyone), `book_check`, `book_record`
of a free start, reads the booking back, and cancels half of them. Printed as one JSON object:
journeys and requests per second, latency by step, every status seen, and the invariants the
run must keep (no 5xx, no overlapping bookings, every acknowledged booking stored). The i18n
throughput of the same server in the same run is the baseline of the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench import dataset, load
from bench.booking import OVERLAPS
from bench.run import TRIVIAL_PATH, headers, machine
from openbooking.kit.db import create_engine, is_sqlite
from openbooking.models import Record

LOCATION = dataset.LOCATION_ID


def log(message: str) -> None:
    print(f"[bench.journeys] {message}", file=sys.stderr, flush=True)


class Tally:
    def __init__(self) -> None:
        self.statuses: Counter[str] = Counter()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.journeys = 0
        self.booked: set[int] = set()
        self.first_error = ""

    async def call(
        self, client: httpx.AsyncClient, step: str, method: str, path: str, **kwargs: Any
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            self.statuses[f"{step} transport error"] += 1
            self.first_error = self.first_error or f"{step}: {exc!r}"
            return None
        self.latency[step].append(time.perf_counter() - started)
        status = str(response.status_code)
        if response.status_code == 422:  # with the business code: 433 = taken meanwhile
            errors = response.json()["meta"].get("errors") or [{}]
            status += f"/{errors[0].get('code', '')}"
        self.statuses[f"{step} {status}"] += 1
        if response.status_code >= 500 and not self.first_error:
            self.first_error = f"{step}: {response.status_code} {response.text[:300]}"
        return response


async def journey(client: httpx.AsyncClient, rng: random.Random, tally: Tally, n: int) -> None:
    api = "/api/v1"
    await tally.call(client, "company", "GET", f"{api}/company/{LOCATION}")
    services = await tally.call(client, "book_services", "GET", f"{api}/book_services/{LOCATION}")
    if services is None or services.status_code != 200:
        return
    service = rng.choice(services.json()["data"]["services"])["id"]
    staff = rng.choice([0, *dataset.staff_ids(LOCATION)[:10]])
    query = {"service_ids[]": service, "staff_id": staff}
    dates = await tally.call(
        client, "book_dates", "GET", f"{api}/book_dates/{LOCATION}", params=query
    )
    if dates is None or dates.status_code != 200 or not dates.json()["data"]["booking_dates"]:
        return
    day = rng.choice(dates.json()["data"]["booking_dates"][:14])
    times = await tally.call(
        client,
        "book_times",
        "GET",
        f"{api}/book_times/{LOCATION}/{staff}/{day}",
        params={"service_ids[]": service},
    )
    if times is None or times.status_code != 200 or not times.json()["data"]:
        return
    when = rng.choice(times.json()["data"])["datetime"]
    appointment = {"id": 1, "services": [service], "staff_id": staff, "datetime": when}
    await tally.call(
        client, "book_check", "POST", f"{api}/book_check/{LOCATION}", json=[appointment]
    )
    body = {
        "phone": f"+49151{rng.randrange(10**8):08d}",  # a valid German mobile number
        "fullname": f"Customer {n}",
        "email": f"customer{n}@example.org",
        "appointments": [appointment],
    }
    booked = await tally.call(
        client, "book_record", "POST", f"{api}/book_record/{LOCATION}", json=body
    )
    tally.journeys += 1
    if booked is None or booked.status_code != 201:
        return  # 433: someone else took it meanwhile, as happens
    item = booked.json()["data"][0]
    tally.booked.add(item["record_id"])
    path = f"{api}/user/records/{item['record_id']}/{item['record_hash']}"
    await tally.call(client, "read back", "GET", path)
    if rng.random() < 0.5:
        await tally.call(client, "cancel", "DELETE", path)


async def customers(base_url: str, token: str, count: int, seconds: float, tally: Tally) -> float:
    deadline = time.monotonic() + seconds
    started = time.monotonic()

    async def customer(number: int) -> None:
        rng = random.Random(number)
        async with httpx.AsyncClient(
            base_url=base_url, headers=headers(token), timeout=60
        ) as client:
            n = 0
            while time.monotonic() < deadline:
                await journey(client, rng, tally, number * 100_000 + n)
                n += 1

    await asyncio.gather(*(customer(number) for number in range(count)))
    return time.monotonic() - started


async def invariants(url: str, booked: set[int]) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            overlaps = (await connection.execute(OVERLAPS)).scalar_one()
            stored = set((await connection.execute(select(Record.id))).scalars())
    finally:
        await engine.dispose()
    return {"overlapping_pairs": overlaps, "acknowledged_not_stored": len(booked - stored)}


def percentiles(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50_ms": round(load.percentile(values, 50) * 1000, 1),
        "p95_ms": round(load.percentile(values, 95) * 1000, 1),
        "p99_ms": round(load.percentile(values, 99) * 1000, 1),
    }


def bench(url: str, workers: int, clients: int, seconds: float, folder: Path) -> dict[str, Any]:
    today = dataset.local_today()
    data = dataset.business(today)
    if not is_sqlite(url):
        asyncio.run(dataset.drop_tables(url))
    database = asyncio.run(dataset.build(url, data, today, 10_000))
    tally = Tally()
    with load.Server(database.url, folder / "server.log", workers=workers) as server:
        auth = headers(database.token)
        trivial = f"{server.base_url}{TRIVIAL_PATH}"
        load.drive(server, trivial, auth, clients, 2)
        baseline = load.drive(server, trivial, auth, clients, 10)
        log(f"{clients} customers for {seconds:g} s")
        cpu_before = server.cpu_seconds()
        elapsed = asyncio.run(customers(server.base_url, database.token, clients, seconds, tally))
        cpu_after = server.cpu_seconds()
    requests = sum(len(values) for values in tally.latency.values())
    server_errors = sum(n for key, n in tally.statuses.items() if key.split()[-1].startswith("5"))
    checks = asyncio.run(invariants(url, tally.booked))
    return {
        "setup": {
            "database": "SQLite file (WAL)" if is_sqlite(url) else "PostgreSQL",
            "workers": workers,
            "customers": clients,
            "seconds": round(elapsed, 1),
            "stored_records_before": database.records,
        },
        "baseline_i18n_rps": round(baseline.rps, 1),
        "journeys": tally.journeys,
        "journeys_per_s": round(tally.journeys / elapsed, 2),
        "requests_per_s": round(requests / elapsed, 1),
        "requests_per_s_vs_i18n": round(requests / elapsed / baseline.rps, 3),
        "booked": len(tally.booked),
        "server_cpu": None
        if cpu_before is None or cpu_after is None
        else round((cpu_after - cpu_before) / elapsed, 2),
        "latency_by_step": {step: percentiles(values) for step, values in tally.latency.items()},
        "statuses": dict(sorted(tally.statuses.items())),
        "invariants": {
            **checks,
            "server_errors": server_errors,
            "ok": server_errors == 0
            and checks["overlapping_pairs"] == 0
            and checks["acknowledged_not_stored"] == 0,
        },
        "first_error": tally.first_error,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.journeys", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=300, help="how long (default 300)")
    parser.add_argument("--clients", type=int, default=32, help="virtual customers (default 32)")
    parser.add_argument(
        "--postgres", metavar="URL", help="a PostgreSQL database to use (its tables are dropped)"
    )
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "load_average_1m_before": os.getloadavg()[0]},
    }
    with tempfile.TemporaryDirectory(prefix="openbooking-journeys-") as tmp:
        folder = Path(tmp)
        url = args.postgres or dataset.sqlite_url(folder / "journeys.db")
        result.update(bench(url, args.workers, args.clients, args.seconds, folder))
    result["machine"]["load_average_1m_after"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))
    if not result["invariants"]["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
