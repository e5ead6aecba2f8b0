"""In-process CPU per request of the request edge: the ASGI apps called directly, no HTTP.

    .venv/bin/python -m bench.inprocess_edge [--blocks N] [--requests R] [--paths PATH ...]

Builds the bench business on a new SQLite file (no stored records), then calls the bare app of
`bench.bare` and OpenBooking's app in turn, `N` blocks of `R` requests each (after one untimed
block), and prints the median process CPU (`time.process_time`) per request of each, in µs,
and each path's ratio to the bare route, as JSON. No client, no server, no socket: what is
left is the app's own work (middleware, routing, dependencies, endpoint, response). Every
answer must be 200.

For an A/B of two versions of the code, run it once per version with `PYTHONPATH` pointing at
each one's `src`, alternating.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openbooking
from bench import bare, dataset
from bench.inprocess_reads import asgi_get
from openbooking.app import close_resources, create_app
from openbooking.config import Settings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from starlette.types import ASGIApp

PATHS = ("/api/v1/i18n/en-US",)


async def block(
    app: ASGIApp, path: str, headers: list[tuple[bytes, bytes]], requests: int
) -> float:
    """CPU µs per request over `requests` requests, one at a time."""
    started = time.process_time()
    for _ in range(requests):
        status, _ = await asgi_get(app, path, headers)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
    return (time.process_time() - started) / requests * 1e6


async def run(blocks: int, requests: int, paths: Sequence[str], var_dir: Path) -> dict[str, Any]:
    today = dataset.local_today()
    url = dataset.sqlite_url(var_dir / "edge.db")
    database = await dataset.build(url, dataset.business(today), today, 0)
    app = create_app(Settings(database_url=url, secret_key="bench-" * 8, var_dir=var_dir))
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {database.token}".encode())]
    targets: dict[str, tuple[ASGIApp, str]] = {"bare": (bare.app, bare.PATH)}
    for path in paths:
        targets[path] = (app, path)
    samples: dict[str, list[float]] = {name: [] for name in targets}
    load = os.getloadavg()[0]
    for index in range(blocks + 1):
        for name, (target, path) in targets.items():
            cost = await block(target, path, headers, requests)
            if index:
                samples[name].append(cost)
    await close_resources(app)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "openbooking": str(Path(openbooking.__file__).parent),
        "blocks": blocks,
        "requests": requests,
        "cpu_us_per_request": {name: round(value, 1) for name, value in medians.items()},
        "vs_bare": {
            name: round(medians["bare"] / value, 3)
            for name, value in medians.items()
            if name != "bare"
        },
        "load": [round(load, 2), round(os.getloadavg()[0], 2)],
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--paths", nargs="+", default=list(PATHS))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as var_dir:
        result = asyncio.run(run(args.blocks, args.requests, args.paths, Path(var_dir)))
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
