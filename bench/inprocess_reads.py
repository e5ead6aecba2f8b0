"""In-process CPU per read request: `i18n`, `book_times` and the month view through the ASGI app.

    .venv/bin/python -m bench.inprocess_reads [--records N] [--requests N] [--blocks N]
        [--keep DIR] [--postgres URL] [--profile FILE] [--only NAME ...]
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null \
        .venv/bin/python -m bench.inprocess_reads --instructions [options]

Builds the bench business with N stored records (6,000: the `http` part of `bench.sidebyside`),
or reuses the one kept in `--keep DIR` from an earlier run (so that two versions of the code can
be measured one after the other on the same data), then calls each endpoint `--requests` times
per block through `httpx.ASGITransport` (no server, no sockets; one request at a time, after 30
untimed ones), `--blocks` times in turn, and prints the process CPU (`time.process_time`: the app
and the client) per request of each block as JSON. With `--raw`, the app is called with a
hand-made ASGI scope instead (no httpx: the figure is the app's own CPU). With `--profile`, the
timed part runs under cProfile and the stats go to FILE. With `--instructions`, under callgrind
as above (`bench.callgrind`), each block's figure is the machine instructions per request
instead, which the machine's other load does not move.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from bench import callgrind, dataset, run
from openbooking.app import create_app
from openbooking.config import Settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

WARMUP = 30


async def database(records: int, keep: str | None, postgres: str | None) -> dataset.Database:
    today = dataset.local_today()
    saved = Path(keep) / f"reads-{records}.json" if keep else None
    if saved is not None and saved.exists():
        found = json.loads(saved.read_text())
        if found["today"] == today.isoformat() and (postgres or "") == found.get("postgres", ""):
            return dataset.Database(found["url"], found["token"], found["records"], 0.0)
    if postgres:
        await dataset.drop_tables(postgres)
        url = postgres
    else:
        folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="openbooking-reads-"))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"reads-{records}.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240 - before the run
        url = dataset.sqlite_url(path)
    built = await dataset.build(url, dataset.business(today), today, records)
    if saved is not None:
        saved.write_text(
            json.dumps(
                {
                    "url": built.url,
                    "token": built.token,
                    "records": built.records,
                    "today": today.isoformat(),
                    "postgres": postgres or "",
                }
            )
        )
    return built


async def _block(
    client: Any, path: str, params: dict[str, Any], count: int, *, instructions: bool = False
) -> float:
    """CPU milliseconds per request over `count` requests (instructions per request when
    `instructions`, callgrind counting)."""
    before = callgrind.counted() if instructions else time.process_time()
    for _ in range(count):
        response = await client.get(path, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.text}")
    if instructions:
        return (callgrind.counted() - before) / count
    return (time.process_time() - before) / count * 1e3


class _Answer:
    def __init__(self) -> None:
        self.status_code = 0
        self.text = ""


async def asgi_get(
    app: Any, path: str, headers: list[tuple[bytes, bytes]], query: str = ""
) -> tuple[int, bytes]:
    """A GET as the ASGI app sees one from uvicorn, without an HTTP client: status and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("bench", 80),
        "state": {},
    }
    status, body = 0, []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(body)


class RawClient:
    """`get` as the ASGI app sees a request from uvicorn, without an HTTP client."""

    def __init__(self, database: dataset.Database) -> None:
        self.app = create_app(Settings(database_url=database.url))
        self.headers = [
            (name.lower().encode(), value.encode())
            for name, value in run.headers(database.token).items()
        ] + [(b"host", b"bench")]

    async def get(self, path: str, params: dict[str, Any]) -> _Answer:
        answer = _Answer()
        answer.status_code, body = await asgi_get(self.app, path, self.headers, urlencode(params))
        answer.text = body.decode()
        return answer


@asynccontextmanager
async def _raw(database: dataset.Database) -> AsyncIterator[RawClient]:
    client = RawClient(database)
    try:
        yield client
    finally:
        await client.app.state.engine.dispose()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    found = await database(args.records, args.keep, args.postgres)
    today = dataset.local_today()
    target = run.pick_target(dataset.business(today), today)
    paths = {
        "i18n": (run.TRIVIAL_PATH, {}),
        "book_times": target.book_times,
        "book_dates": target.book_dates,
    }
    names = args.only or list(paths)
    cpu: dict[str, list[float]] = {name: [] for name in names}
    profiler = cProfile.Profile() if args.profile else None
    async with _raw(found) if args.raw else run.in_process(found) as client:
        for name in names:
            path, params = paths[name]
            for _ in range(WARMUP):
                await _block(client, path, params, 1)
        if args.instructions:
            callgrind.start()
        for block in range(args.blocks):
            order = names if block % 2 == 0 else list(reversed(names))
            for name in order:
                path, params = paths[name]
                if profiler is not None:
                    profiler.enable()
                cpu[name].append(
                    await _block(
                        client, path, params, args.requests, instructions=args.instructions
                    )
                )
                if profiler is not None:
                    profiler.disable()
    if profiler is not None:
        profiler.dump_stats(args.profile)
    figure = "instructions_per_request" if args.instructions else "cpu_ms_per_request"
    digits = None if args.instructions else 3  # whole instructions
    return {
        "records": found.records,
        "requests_per_block": args.requests,
        figure: {
            name: {
                "blocks": [round(value, digits) for value in values],
                "median": round(statistics.median(values), digits),
            }
            for name, values in cpu.items()
        },
        "mode": "raw ASGI" if args.raw else "httpx.ASGITransport",
        "pythonpath": os.environ.get("PYTHONPATH", ""),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=6_000)
    parser.add_argument("--requests", type=int, default=300, help="per endpoint and block")
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--keep", help="a folder to keep the database in, and reuse it from")
    parser.add_argument("--postgres", help="an empty PostgreSQL database (its tables are dropped)")
    parser.add_argument("--profile", help="write cProfile stats of the timed part here")
    parser.add_argument("--raw", action="store_true", help="call the ASGI app without httpx")
    parser.add_argument("--only", nargs="*", choices=["i18n", "book_times", "book_dates"])
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (under callgrind)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = asyncio.run(main_async(args))
    result["seconds"] = round(time.perf_counter() - started, 1)
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
