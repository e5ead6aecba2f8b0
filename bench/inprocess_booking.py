"""In-process CPU per booking: POST /book_record through the ASGI app, no HTTP server.

    .venv/bin/python -m bench.inprocess_booking [--postgres URL] [--bookings N] [--clients C]
        [--profile FILE] [--raw] [--blocks K]
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null \
        .venv/bin/python -m bench.inprocess_booking --instructions [options]

Builds the bench business (no stored records), then books `N` distinct free slots (after 30
untimed), `C` at a time, and prints the process CPU (`time.process_time`) and wall time per
booking as JSON. Every answer must be 201. With `--profile`, the timed part runs under
cProfile and the stats go to FILE. With `--blocks K`, K blocks of `N` bookings each, and the
figures are the median block's. With `--raw`, the app is called with a hand-made ASGI scope
instead of through httpx (as `bench.inprocess_reads --raw`): the figure is the app's own CPU,
its writer thread and the background SMS included.

With `--instructions`, under callgrind as above, the figure is the machine instructions per
booking that this process ran in the timed part (callgrind counts only there), which the
machine's other load does not move: two versions of the code compared by it differ by what
they do, not by when they ran (a PostgreSQL server's own work is not counted). About fifty
times slower: a few hundred bookings suffice.
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
import orjson

from bench import booking, callgrind, dataset, sidebyside
from bench.run import headers
from openbooking.app import close_resources, create_app
from openbooking.config import Settings

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

WARMUP = 30


class _RawClient:
    """`post` as the ASGI app sees a request from uvicorn, without an HTTP client."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.headers = [
            (name.lower().encode(), value.encode()) for name, value in headers(token).items()
        ] + [(b"host", b"bench"), (b"content-type", b"application/json")]

    async def post(self, path: str, json: Any) -> httpx.Response:
        body = orjson.dumps(json)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [*self.headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 40000),
            "server": ("bench", 80),
            "state": {},
        }
        sent = False
        status, chunks = 0, []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)  # the client stays; the app does not read again
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return httpx.Response(status, content=b"".join(chunks))


async def run(  # noqa: PLR0917 - the bench's options
    url: str,
    bookings: int,
    clients: int,
    profile: str | None,
    var_dir: Path,
    raw: bool = False,
    blocks: int = 1,
    instructions: bool = False,
) -> dict[str, Any]:
    """Book `bookings` slots after the warm-up, `blocks` times over; the figures (the median
    block's, with each block's CPU). `var_dir` takes the SMS outbox."""
    today = dataset.local_today()
    data = dataset.business(today)
    database = await booking.prepare(url, data, today)
    slots = sidebyside.booking_slots(data, today)
    if len(slots) < WARMUP + bookings * blocks:
        raise SystemExit(f"only {len(slots)} slots")
    app = create_app(Settings(database_url=url, secret_key="bench-" * 8, var_dir=var_dir))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers=headers(database.token)
    ) as http:
        client: Any = _RawClient(app, database.token) if raw else http

        async def one(index: int) -> None:
            answer = await client.post(booking.BOOK_PATH, json=slots[index].body(index))
            if answer.status_code != 201:
                raise RuntimeError(f"{answer.status_code} {answer.text}")

        for index in range(WARMUP):
            await one(index)
        profiler = cProfile.Profile() if profile else None
        figures: list[tuple[float, float]] = []
        counted = 0
        if instructions:
            callgrind.start()
        for block in range(blocks):
            first = WARMUP + block * bookings
            queue = iter(range(first, first + bookings))

            async def worker(queue: Iterator[int] = queue) -> None:
                for index in queue:
                    await one(index)

            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            await asyncio.gather(*(worker() for _ in range(clients)))
            if profiler is not None:
                profiler.disable()
            figures.append((time.process_time() - cpu, time.perf_counter() - wall))
        if instructions:
            counted = callgrind.counted()
            callgrind.stop()
        if profiler is not None and profile is not None:
            profiler.dump_stats(profile)
    await close_resources(app)
    cpu, wall = sorted(figures)[len(figures) // 2]
    if instructions:
        return {
            "database": "sqlite" if url.startswith("sqlite") else "postgresql",
            "bookings": bookings * blocks,
            "clients": clients,
            "instructions_per_booking": round(counted / (bookings * blocks)),
        }
    return {
        "database": "sqlite" if url.startswith("sqlite") else "postgresql",
        "mode": "raw ASGI" if raw else "httpx.ASGITransport",
        "bookings": bookings,
        "clients": clients,
        "blocks_cpu_ms_per_booking": [round(cpu / bookings * 1000, 2) for cpu, _ in figures],
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
    parser.add_argument("--blocks", type=int, default=1, help="report the median block")
    parser.add_argument("--raw", action="store_true", help="call the ASGI app without httpx")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (under callgrind)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = args.postgres or dataset.sqlite_url(Path(folder) / "bench.db")
        result = asyncio.run(
            run(
                url,
                args.bookings,
                args.clients,
                args.profile,
                Path(folder),
                args.raw,
                args.blocks,
                args.instructions,
            )
        )
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
