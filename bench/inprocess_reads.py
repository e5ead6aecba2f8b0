"""In-process CPU per read request: `i18n`, `book_times` and the month view through the ASGI app.

    .venv/bin/python -m bench.inprocess_reads [--records N] [--requests N] [--blocks N]
        [--keep DIR] [--postgres URL] [--profile FILE] [--only NAME ...]

Builds the bench business with N stored records (6,000: the `http` part of `bench.sidebyside`),
or reuses the one kept in `--keep DIR` from an earlier run (so that two versions of the code can
be measured one after the other on the same data), then calls each endpoint `--requests` times
per block through `httpx.ASGITransport` (no server, no sockets; one request at a time, after 30
untimed ones), `--blocks` times in turn, and prints the process CPU (`time.process_time`: the app
and the client) per request of each block as JSON. With `--profile`, the timed part runs under
cProfile and the stats go to FILE.
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import dataset, run

if TYPE_CHECKING:
    from collections.abc import Sequence

    import httpx

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


async def _block(client: httpx.AsyncClient, path: str, params: dict[str, Any], count: int) -> float:
    """CPU milliseconds per request over `count` requests."""
    before = time.process_time()
    for _ in range(count):
        response = await client.get(path, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.text}")
    return (time.process_time() - before) / count * 1e3


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
    async with run.in_process(found) as client:
        for name in names:
            path, params = paths[name]
            for _ in range(WARMUP):
                run.checked(await client.get(path, params=params))
        for block in range(args.blocks):
            order = names if block % 2 == 0 else list(reversed(names))
            for name in order:
                path, params = paths[name]
                if profiler is not None:
                    profiler.enable()
                cpu[name].append(await _block(client, path, params, args.requests))
                if profiler is not None:
                    profiler.disable()
    if profiler is not None:
        profiler.dump_stats(args.profile)
    return {
        "records": found.records,
        "requests_per_block": args.requests,
        "cpu_ms_per_request": {
            name: {
                "blocks": [round(value, 3) for value in values],
                "median": round(statistics.median(values), 3),
            }
            for name, values in cpu.items()
        },
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
    parser.add_argument("--only", nargs="*", choices=["i18n", "book_times", "book_dates"])
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = asyncio.run(main_async(args))
    result["seconds"] = round(time.perf_counter() - started, 1)
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
