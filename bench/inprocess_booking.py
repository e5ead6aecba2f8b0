"""In-process CPU per booking: POST /book_record through the ASGI app, no HTTP server.

    .venv/bin/python -m bench.inprocess_booking [--postgres URL] [--bookings N] [--clients C]
        [--profile FILE]

Builds the bench business (no stored records), then books `N` distinct free slots (after 30
untimed), `C` at a time, and prints the process CPU (`time.process_time`) and wall time per
booking as JSON. Every answer must be 201. With `--profile`, the timed part runs under
cProfile and the stats go to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from bench import booking, dataset, sidebyside
from bench.run import headers
from openbooking.app import close_resources, create_app
from openbooking.config import Settings

if TYPE_CHECKING:
    from collections.abc import Sequence

WARMUP = 30


async def run(
    url: str, bookings: int, clients: int, profile: str | None, var_dir: Path
) -> dict[str, Any]:
    """Book `bookings` slots after the warm-up; the figures. `var_dir` takes the SMS outbox."""
    today = dataset.local_today()
    data = dataset.business(today)
    database = await booking.prepare(url, data, today)
    slots = sidebyside.booking_slots(data, today)
    if len(slots) < WARMUP + bookings:
        raise SystemExit(f"only {len(slots)} slots")
    app = create_app(Settings(database_url=url, secret_key="bench-" * 8, var_dir=var_dir))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers=headers(database.token)
    ) as client:

        async def one(index: int) -> None:
            answer = await client.post(booking.BOOK_PATH, json=slots[index].body(index))
            if answer.status_code != 201:
                raise RuntimeError(f"{answer.status_code} {answer.text}")

        for index in range(WARMUP):
            await one(index)
        queue = iter(range(WARMUP, WARMUP + bookings))

        async def worker() -> None:
            for index in queue:
                await one(index)

        profiler = cProfile.Profile() if profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        await asyncio.gather(*(worker() for _ in range(clients)))
        if profiler is not None and profile is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await close_resources(app)
    return {
        "database": "sqlite" if url.startswith("sqlite") else "postgresql",
        "bookings": bookings,
        "clients": clients,
        "cpu_ms_per_booking": round(cpu / bookings * 1000, 2),
        "wall_ms_per_booking": round(wall / bookings * 1000, 2),
        "bookings_per_s": round(bookings / wall, 1),
        "load": os.getloadavg()[0],
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres")
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--profile")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = args.postgres or dataset.sqlite_url(Path(folder) / "bench.db")
        result = asyncio.run(run(url, args.bookings, args.clients, args.profile, Path(folder)))
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
