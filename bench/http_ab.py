"""A/B of versions of the code over HTTP: `i18n` served by each, the bare route beside them.

    .venv/bin/python -m bench.http_ab [--rounds N] [--seconds S] NAME=SRC ...

Starts the bare app of `bench.bare` and one `openbooking serve` per NAME=SRC (SRC: a `src`
folder put first on `PYTHONPATH`; empty for the installed code), all at once on one SQLite
bench database, then drives each in turn with `wrk` (64 connections, S seconds, after one
untimed second in the first round), N rounds in alternating order. Prints, as JSON, each
server's median req/s and server CPU µs per request, its ratios to the bare route, and for each
pair of versions the median over rounds of their CPU ratio (same round, next to each other in
time: the figure that stands best on a busy machine).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import bare, dataset, load, run

if TYPE_CHECKING:
    from collections.abc import Sequence

CONNECTIONS = 64


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seconds", type=int, default=2)
    parser.add_argument("versions", nargs="+", metavar="NAME=SRC")
    args = parser.parse_args(argv)
    versions = dict(version.split("=", 1) for version in args.versions)
    folder = Path(tempfile.mkdtemp(prefix="bench-http-ab-"))
    today = dataset.local_today()
    url = dataset.sqlite_url(folder / "bench.db")
    database = asyncio.run(dataset.build(url, dataset.business(today), today, 0))
    auth = run.headers(database.token)
    targets: dict[str, tuple[load.Server, str, dict[str, str]]] = {}
    environ = dict(os.environ)
    try:
        for name, src in {"bare": "", **versions}.items():
            os.environ.clear()
            os.environ.update(environ)
            if src:
                os.environ["PYTHONPATH"] = os.pathsep.join([src, os.getcwd()])
            (folder / name).mkdir()
            if name == "bare":
                server = load.Server("", folder / name / "log", app="bench.bare:app")
                targets[name] = (server.__enter__(), bare.PATH, {})
            else:
                server = load.Server(url, folder / name / "log")
                targets[name] = (server.__enter__(), run.TRIVIAL_PATH, auth)
        os.environ.clear()
        os.environ.update(environ)
        samples = measure(targets, args.rounds, args.seconds)
    finally:
        for server, _, _ in targets.values():
            server.__exit__()
    print(json.dumps(summary(samples, load_average=os.getloadavg()[0]), indent=2))


def measure(
    targets: dict[str, tuple[load.Server, str, dict[str, str]]], rounds: int, seconds: int
) -> dict[str, list[tuple[float, float]]]:
    """(req/s, server CPU µs per request) of each target in each round."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
    for server, path, headers in targets.values():
        load.wait_ready(f"{server.base_url}{path}", headers)
    for number in range(rounds):
        names = list(targets) if number % 2 == 0 else list(reversed(targets))
        for name in names:
            server, path, headers = targets[name]
            url = f"{server.base_url}{path}"
            if number == 0:
                load.drive(server, url, headers, CONNECTIONS, 1)
            before = server.cpu_seconds() or 0.0
            result = load.drive(server, url, headers, CONNECTIONS, seconds)
            cpu = ((server.cpu_seconds() or 0.0) - before) / max(1, result.requests) * 1e6
            samples[name].append((result.rps, cpu))
    return samples


def summary(samples: dict[str, list[tuple[float, float]]], load_average: float) -> dict[str, Any]:
    medians = {
        name: (statistics.median(r for r, _ in runs), statistics.median(c for _, c in runs))
        for name, runs in samples.items()
    }
    bare_rps, bare_cpu = medians["bare"]
    out: dict[str, Any] = {
        name: {
            "rps": round(rps, 1),
            "cpu_us_per_request": round(cpu, 1),
            "rps_vs_bare": round(rps / bare_rps, 3),
            "cpu_ratio_vs_bare": round(bare_cpu / cpu, 3),
        }
        for name, (rps, cpu) in medians.items()
    }
    out["pairs_cpu_ratio_median_of_rounds"] = {
        f"{a}/{b}": round(
            statistics.median(x[1] / y[1] for x, y in zip(samples[a], samples[b], strict=True)),
            3,
        )
        for a, b in itertools.combinations(samples, 2)
    }
    out["load_average_1m_after"] = round(load_average, 2)
    return out


if __name__ == "__main__":
    main()
