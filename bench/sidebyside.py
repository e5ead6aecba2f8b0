"""OpenBooking side by side with a bare FastAPI app: every ratio of the performance issue, as JSON.

    .venv/bin/python -m bench.sidebyside [--quick] [--postgres URL] [--skip PART ...]

One run starts a real `openbooking serve` and the bare app of `bench.bare` (same FastAPI,
uvicorn, httptools and uvloop; one worker) and measures, alternating the two so that drift in a
busy machine hits both alike:

- `booking`: `POST /book_record` on SQLite, one process, with 16 and with 64 connections, each
  request a distinct free slot (phone confirmation off), driven by `wrk` with a Lua script;
  created/s against the bare route's req/s, and p99.
- `contended`: 64 clients on a pool of 31 slots (`bench.booking`'s rounds): exactly one winner
  per slot; the losers' p99 next to the winners'.
- `postgres` (with `--postgres URL`): the uncontended and contended booking on PostgreSQL with two
  workers.
- `http`: `i18n`, `book_times` and the month view (`book_dates`, 31 days, any of 50 members),
  6,000 stored records, each against the bare route, `wrk` with 64 connections.
- `month`: the month view in-process (httpx.ASGITransport) with 600, 6,000 and 60,000 stored
  records, request by request in turn: p95 of each and the ratios to the 6,000 one.

Every figure is a ratio measured in the same run, or a latency next to its target; the load
average is recorded before and after each part. A wrk measurement during which the machine's
wall clock stepped is taken again (`load.clock_step`); the discarded ones are listed under
`clock_steps`. Progress goes to stderr. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import update

from bench import bare, booking, dataset, load, run
from openbooking.kit.db import IMMEDIATE_OPTION, create_engine, is_sqlite
from openbooking.models import Record
from openbooking.models.records import RECORD_ACTIVE, RECORD_CANCELLED

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy.ext.asyncio import AsyncEngine

CONNECTIONS = 64
BOOKING_CONNECTIONS = (16, 64)
POSTGRES_WORKERS = 2
MONTH_RECORDS = (600, 6_000, 60_000)
HTTP_RECORDS = 6_000
BOOKING_DAYS = 50  # slots from the benchmark day on, inside the 60-day horizon
PHONES = 1_000
CLOCK_ATTEMPTS = 3  # of one measurement while the wall clock steps during it

TARGETS = {
    "booking_sqlite_vs_bare": 0.15,  # at least
    "booking_sqlite_p99_ms_at_64": 500.0,  # at most
    "booking_postgres_vs_bare": 0.1,
    "i18n_vs_bare": 0.7,
    "book_times_vs_bare": 0.35,
    "book_dates_vs_bare": 0.1,
    "month_p95_ms_at_6000": 8.0,
    "month_p95_vs_6000": 1.3,
}


@dataclass(frozen=True)
class Budget:
    seconds: float  # per wrk measurement
    warmup_seconds: float
    rounds: int  # alternations of bare and OpenBooking
    contended_rounds: int
    month_requests: int  # per database


FULL = Budget(seconds=8, warmup_seconds=2, rounds=2, contended_rounds=10, month_requests=200)
QUICK = Budget(seconds=3, warmup_seconds=1, rounds=1, contended_rounds=2, month_requests=60)


def log(message: str) -> None:
    print(f"[bench.sidebyside] {message}", file=sys.stderr, flush=True)


# wrk measurements discarded because the wall clock stepped during them, for the output
CLOCK_STEPS: list[dict[str, Any]] = []


def measured(take: Callable[[], load.LoadResult], what: str) -> load.LoadResult:
    """`take()`, taken again while the machine's wall clock steps during it (at most
    `CLOCK_ATTEMPTS` times in all): wrk's figures then measure the clock, not the server."""
    for _ in range(CLOCK_ATTEMPTS - 1):
        result = take()
        if not result.clock_stepped:
            return result
        log(f"{what}: the wall clock stepped {result.clock_step_s:+g} s; measuring again")
        CLOCK_STEPS.append({"measurement": what, **asdict(result)})
    return take()


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def cpu_times() -> tuple[int, int] | None:
    """The machine's CPU time stolen by the hypervisor and its CPU time in all, in ticks since
    boot (Linux's /proc/stat), or None where there is no such file."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    ticks = [int(value) for value in fields[1:9]]  # user ... softirq, steal (guests are in user)
    return ticks[7], sum(ticks)


def steal_percent(before: tuple[int, int] | None) -> float | None:
    """The share of the machine's CPU time the hypervisor took since `before` (`cpu_times`): a
    virtual machine's noise that the load average does not show."""
    after = cpu_times()
    if before is None or after is None or after[1] == before[1]:
        return None
    return round(100 * (after[0] - before[0]) / (after[1] - before[1]), 1)


class Bare:
    """The bare app's server, measured with the same client as the endpoint it is compared to."""

    def __init__(self, server: load.Server) -> None:
        self.server = server
        self.results: list[load.LoadResult] = []

    def measure(self, budget: Budget) -> load.LoadResult:
        url = f"{self.server.base_url}{bare.PATH}"
        load.drive(self.server, url, {}, CONNECTIONS, budget.warmup_seconds)
        drive = functools.partial(load.drive, self.server, url, {}, CONNECTIONS, budget.seconds)
        result = measured(drive, "bare")
        self.results.append(result)
        return result


def mean_rps(results: Sequence[load.LoadResult]) -> float:
    return sum(result.rps for result in results) / len(results)


def cpu_ratio(bare: Sequence[load.LoadResult], ours: Sequence[Any]) -> float | None:
    """The bare route's server CPU per request over ours: the throughput ratio the two would
    have if each had a core to itself. On a machine busy with other work the scheduler, not the
    code, sets each side's share, and this is the steadier figure (a 1-thread server gets less
    of a crowded machine than one with more threads)."""

    def cpu(result: Any) -> float | None:
        return getattr(result, "server_cpu_ms_per_request", None) or (
            result.get("server_cpu_ms_per_request") if isinstance(result, dict) else None
        )

    theirs = [value for value in map(cpu, bare) if value]
    own = [value for value in map(cpu, ours) if value]
    if not theirs or not own:
        return None
    return round((sum(theirs) / len(theirs)) / (sum(own) / len(own)), 3)


# --------------------------------------------------------------------- GET endpoints over HTTP


def http_part(database: dataset.Database, bare_app: Bare, budget: Budget, folder: Path) -> Any:
    data = dataset.business(dataset.local_today())
    target = run.pick_target(data, dataset.local_today())
    auth = run.headers(database.token)
    load_before, steal_before = load_average(), cpu_times()
    with load.Server(database.url, folder / "http.log") as server:
        paths = {
            "i18n": (run.TRIVIAL_PATH, {}),
            "book_times": target.book_times,
            "book_dates": target.book_dates,
        }
        urls = {
            name: str(httpx.URL(f"{server.base_url}{path}", params=params))
            for name, (path, params) in paths.items()
        }
        for url in urls.values():
            load.wait_ready(url, auth)
        runs: dict[str, list[load.LoadResult]] = {name: [] for name in urls}
        bares: list[load.LoadResult] = []
        for number in range(budget.rounds):
            names = list(urls) if number % 2 == 0 else list(reversed(urls))
            for name in names:
                log(f"http round {number + 1}: bare, then {name}")
                bares.append(bare_app.measure(budget))
                load.drive(server, urls[name], auth, CONNECTIONS, budget.warmup_seconds)
                drive = functools.partial(
                    load.drive, server, urls[name], auth, CONNECTIONS, budget.seconds
                )
                runs[name].append(measured(drive, name))
    baseline = mean_rps(bares)
    endpoints = {
        name: {
            "path": urls[name].removeprefix(f"http://127.0.0.1:{urls[name].split(':')[2]}"),
            "rps": round(mean_rps(results), 1),
            "ratio": round(mean_rps(results) / baseline, 3),
            "cpu_ratio": cpu_ratio(bares, results),
            "runs": [asdict(result) for result in results],
        }
        for name, results in runs.items()
    }
    return {
        "records": database.records,
        "client": f"wrk, 1 thread, {CONNECTIONS} connections, {budget.seconds:g} s each",
        "bare_rps": round(baseline, 1),
        "bare_runs": [asdict(result) for result in bares],
        "endpoints": endpoints,
        "load_average": [load_before, load_average()],
        "cpu_steal_percent": steal_percent(steal_before),
    }


# ------------------------------------------------------------------------------ bookings


def booking_slots(data: dict[str, Any], today: date) -> list[booking.Slot]:
    """Distinct free slots over `BOOKING_DAYS` days, members taking turns (consecutive requests
    go to different members); none overlaps another."""
    slots: list[booking.Slot] = []
    first = dataset.bench_day(today)
    for offset in range(BOOKING_DAYS):
        day = first + timedelta(days=offset)
        per_member = [booking.day_slots(member, day) for member in booking.working(data, day)]
        for turn in range(max((len(s) for s in per_member), default=0)):
            slots.extend(s[turn] for s in per_member if turn < len(s))
    return slots


def wrk_script(slots: Sequence[booking.Slot], path: Path) -> Path:
    """A wrk script posting each slot's body once, in order (then from the start again: those
    answers are 433s and count as errors)."""
    bodies = ",\n".join(
        f"[==[{json.dumps(slot.body(number % PHONES))}]==]" for number, slot in enumerate(slots)
    )
    path.write_text(
        'wrk.method = "POST"\n'
        f"local bodies = {{\n{bodies}\n}}\n"
        "local n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        "  return wrk.format(nil, nil, nil, bodies[((n - 1) % #bodies) + 1])\n"
        "end\n"
    )
    return path


async def settle(url: str) -> dict[str, int]:
    """Check the records a run made (no overlap), then cancel them all for the next run."""
    engine = create_engine(url)
    try:
        # wrk stops at its deadline, and the server still answers what it had received: wait
        # until the number of records stops moving.
        counts = [-2, -1]
        while counts[-1] != counts[-2]:
            await asyncio.sleep(0.5)
            async with engine.connect() as connection:
                counts.append((await connection.execute(booking.ACTIVE)).scalar_one())
        async with engine.connect() as plain:
            connection = await plain.execution_options(**{IMMEDIATE_OPTION: True})
            await connection.begin()
            active = (await connection.execute(booking.ACTIVE)).scalar_one()
            overlapping = (await connection.execute(booking.OVERLAPS)).scalar_one()
            await connection.execute(
                update(Record).where(Record.status == RECORD_ACTIVE).values(status=RECORD_CANCELLED)
            )
            await connection.commit()
        await tidy(engine)
    finally:
        await engine.dispose()
    return {"active": active, "overlapping_pairs": overlapping}


async def tidy(engine: AsyncEngine) -> None:
    """Leave no clean-up of the run before for the next one: the rows `settle` cancelled
    vacuumed (PostgreSQL; else autovacuum takes a core away in the middle of some later round)
    and the WAL copied back into the database file (SQLite; else a checkpoint of the thousands
    of rows it changed falls in a later round)."""
    async with engine.connect() as connection:
        if is_sqlite(str(engine.url)):
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM ANALYZE")


def booking_part(url: str, workers: int, bare_app: Bare, budget: Budget, folder: Path) -> Any:
    """Uncontended bookings with wrk at each connection count, then contended rounds."""
    today = dataset.local_today()
    data = dataset.business(today)
    day = dataset.bench_day(today)
    if not is_sqlite(url):
        asyncio.run(dataset.drop_tables(url))
    database = asyncio.run(dataset.build(url, data, today, 0))
    slots = booking_slots(data, today)
    script = wrk_script(slots, folder / "book.lua")
    team = booking.working(data, day)
    pool = [
        slot for member in team[: booking.POOL_MEMBERS] for slot in booking.day_slots(member, day)
    ]
    auth = {**run.headers(database.token), "Content-Type": "application/json"}
    load_before, steal_before = load_average(), cpu_times()
    uncontended: dict[str, Any] = {}
    bares: list[load.LoadResult] = []
    with load.Server(database.url, folder / f"booking-{workers}.log", workers=workers) as server:
        first_day = [slot for slot in slots if slot.start.astimezone(dataset.ZONE).date() == day]
        booking.check_listed(server.base_url, database.token, day, first_day)
        book_url = f"{server.base_url}{booking.BOOK_PATH}"

        def book(connections: int, settled: list[dict[str, int]]) -> load.LoadResult:
            """One measurement, then the records it made checked and cancelled."""
            result = load.drive(server, book_url, auth, connections, budget.seconds, script=script)
            settled.append(asyncio.run(settle(database.url)))
            return result

        for connections in BOOKING_CONNECTIONS:
            runs = []
            for number in range(budget.rounds):
                log(f"booking ({workers} worker(s)): bare, then {connections} connections")
                bares.append(bare_app.measure(budget))
                load.drive(
                    server, book_url, auth, connections, budget.warmup_seconds, script=script
                )
                asyncio.run(settle(database.url))
                settled: list[dict[str, int]] = []
                result = measured(
                    functools.partial(book, connections, settled),
                    f"booking ({workers} worker(s)), {connections} connections",
                )
                found = {
                    "active": settled[-1]["active"],  # of the measurement kept
                    "overlapping_pairs": sum(s["overlapping_pairs"] for s in settled),
                }
                runs.append({**asdict(result), **found, "round": number + 1})
            uncontended[str(connections)] = runs
        log(f"contended ({workers} worker(s)): {budget.contended_rounds} rounds, {len(pool)} slots")
        checks = booking.Checks()
        tally = asyncio.run(contend(server, database, pool, budget, checks))
    bare_rps = mean_rps(bares)
    losers = tally.by_outcome.get(f"422/{booking.TAKEN}", [])
    winners = tally.by_outcome.get("201", [])
    figures = booking.figures(tally, len(pool))
    per_connections: dict[str, Any] = {}
    for count, runs in uncontended.items():
        created = sum(r["requests"] - r["errors"] for r in runs)
        seconds = sum(r["seconds"] for r in runs)
        per_connections[count] = {
            "created_per_s": round(created / seconds, 1),
            "ratio": round(created / seconds / bare_rps, 3),
            "cpu_ratio": cpu_ratio(bares, runs),
            "p99_ms": max(r["p99_ms"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
            "overlapping_pairs": sum(r["overlapping_pairs"] for r in runs),
            # wrk stops counting at its deadline; answers still in flight then are created too
            "active_minus_acknowledged": [
                r["active"] - (r["requests"] - r["errors"]) for r in runs
            ],
            "runs": runs,
        }
    return {
        "database": "SQLite file (WAL)" if is_sqlite(url) else "PostgreSQL",
        "workers": workers,
        "client": "wrk, 1 thread, a Lua script posting distinct free slots",
        "bare_rps": round(bare_rps, 1),
        "uncontended": per_connections,
        "contended": {
            "clients": booking.CLIENTS,
            "client": "asyncio + httpx (bench.booking), one connection per client",
            **{k: figures[k] for k in ("rounds", "slots_per_round", "attempts", "created")},
            **{k: figures[k] for k in ("refused_433", "server_errors", "p50_ms", "p99_ms")},
            "winners_p99_ms": round(load.percentile(winners, 99) * 1e3, 1) if winners else None,
            "losers_p99_ms": round(load.percentile(losers, 99) * 1e3, 1) if losers else None,
            "one_winner_per_slot": checks.unbooked == 0
            and checks.overlapping_pairs == 0
            and checks.active_not_created == 0,
            "checks": asdict(checks),
        },
        "load_average": [load_before, load_average()],
        "cpu_steal_percent": steal_percent(steal_before),
    }


async def contend(
    server: load.Server,
    database: dataset.Database,
    pool: list[booking.Slot],
    budget: Budget,
    checks: booking.Checks,
) -> booking.Tally:
    engine = create_engine(database.url)
    rounds = booking.Rounds(server, engine, database.token, booking.CLIENTS, checks)
    try:
        await rounds.run(booking.contended, pool, 1)  # warm-up, not counted
        return await rounds.run(booking.contended, pool, budget.contended_rounds)
    finally:
        await engine.dispose()


# ------------------------------------------------------------------- month view in-process


async def month_part(databases: dict[int, dataset.Database], budget: Budget) -> Any:
    today = dataset.local_today()
    target = run.pick_target(dataset.business(today), today)
    path, params = target.book_dates
    load_before, steal_before = load_average(), cpu_times()
    seconds: dict[int, list[float]] = {count: [] for count in databases}
    cpu: dict[int, float] = dict.fromkeys(databases, 0.0)
    async with (
        run.in_process(databases[MONTH_RECORDS[0]]) as small,
        run.in_process(databases[MONTH_RECORDS[1]]) as middle,
        run.in_process(databases[MONTH_RECORDS[2]]) as large,
    ):
        clients = dict(zip(MONTH_RECORDS, (small, middle, large), strict=True))
        for client in clients.values():
            await run.timed(client, path, params, 0, 30)
        log(f"month view in-process, {budget.month_requests} requests per database")
        for turn in range(budget.month_requests):
            order = list(clients) if turn % 2 == 0 else list(reversed(clients))
            for count in order:
                before = time.process_time()
                seconds[count].append(await run.once(clients[count], path, params))
                cpu[count] += time.process_time() - before
    summaries = {
        count: {
            **run.summary(values),
            # CPU of this process (client and app) per request: what a busy machine does not
            # inflate as it does wall time
            "cpu_ms_per_request": round(cpu[count] / len(values) * 1e3, 3),
        }
        for count, values in seconds.items()
    }
    middle_p95 = summaries[MONTH_RECORDS[1]]["p95_ms"]
    return {
        "mode": "in-process: httpx.ASGITransport, one request at a time, databases in turn",
        "window": [params["date_from"], params["date_to"]],
        "by_records": {str(count): result for count, result in summaries.items()},
        "p95_vs_6000": {
            str(count): round(result["p95_ms"] / middle_p95, 3)
            for count, result in summaries.items()
        },
        "load_average": [load_before, load_average()],
        "cpu_steal_percent": steal_percent(steal_before),
    }


# ------------------------------------------------------------------------------------ main


def verdicts(result: dict[str, Any]) -> dict[str, Any]:
    """Every ratio of the issue next to its target."""
    out: dict[str, Any] = {}
    sqlite = result.get("booking_sqlite")
    if sqlite:
        for connections, figures in sqlite["uncontended"].items():
            out[f"booking_sqlite_{connections}_vs_bare"] = {
                "value": figures["ratio"],
                "cpu_ratio": figures["cpu_ratio"],
                "target": f">= {TARGETS['booking_sqlite_vs_bare']}",
                "met": figures["ratio"] >= TARGETS["booking_sqlite_vs_bare"],
            }
        p99 = sqlite["uncontended"]["64"]["p99_ms"]
        out["booking_sqlite_p99_ms_at_64"] = {
            "value": p99,
            "target": f"<= {TARGETS['booking_sqlite_p99_ms_at_64']}",
            "met": p99 <= TARGETS["booking_sqlite_p99_ms_at_64"],
        }
        out["contended_sqlite"] = contended_verdict(sqlite["contended"])
    postgres = result.get("booking_postgres")
    if postgres:
        for connections, figures in postgres["uncontended"].items():
            out[f"booking_postgres_{connections}_vs_bare"] = {
                "value": figures["ratio"],
                "cpu_ratio": figures["cpu_ratio"],
                "target": f">= {TARGETS['booking_postgres_vs_bare']}",
                "met": figures["ratio"] >= TARGETS["booking_postgres_vs_bare"],
            }
        out["contended_postgres"] = contended_verdict(postgres["contended"])
    http = result.get("http")
    if http:
        for name in ("i18n", "book_times", "book_dates"):
            ratio = http["endpoints"][name]["ratio"]
            wanted = TARGETS[f"{name}_vs_bare"]
            out[f"{name}_vs_bare"] = {
                "value": ratio,
                "cpu_ratio": http["endpoints"][name]["cpu_ratio"],
                "target": f">= {wanted}",
                "met": ratio >= wanted,
            }
    month = result.get("month")
    if month:
        p95 = month["by_records"][str(MONTH_RECORDS[1])]["p95_ms"]
        out["month_p95_ms_at_6000"] = {
            "value": p95,
            "target": f"<= {TARGETS['month_p95_ms_at_6000']}",
            "met": p95 <= TARGETS["month_p95_ms_at_6000"],
        }
        for count in (MONTH_RECORDS[0], MONTH_RECORDS[2]):
            ratio = month["p95_vs_6000"][str(count)]
            out[f"month_p95_{count}_vs_6000"] = {
                "value": ratio,
                "target": f"<= {TARGETS['month_p95_vs_6000']}",
                "met": ratio <= TARGETS["month_p95_vs_6000"],
            }
    return out


def contended_verdict(contended: dict[str, Any]) -> dict[str, Any]:
    losers, p99 = contended["losers_p99_ms"], contended["p99_ms"]
    return {
        "one_winner_per_slot": contended["one_winner_per_slot"],
        "server_errors": contended["server_errors"],
        "losers_p99_ms": losers,
        "p99_ms": p99,
        "met": contended["one_winner_per_slot"]
        and contended["server_errors"] == 0
        and losers is not None
        and losers <= TARGETS["booking_sqlite_p99_ms_at_64"],
    }


PARTS = ("booking", "postgres", "http", "month")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sidebyside", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke test")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also book on this PostgreSQL database (postgresql+asyncpg://…; its tables are "
        'dropped first, so its name must contain "bench" or "test") with two workers',
    )
    parser.add_argument("--skip", nargs="*", choices=PARTS, default=[], help="parts to leave out")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        parser.error("needs wrk (apt-get install wrk): the same load generator for both sides")
    budget = QUICK if args.quick else FULL
    today = dataset.local_today()
    data = dataset.business(today)
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {**run.machine(), "load_average_1m_before": load_average()},
    }
    steal_before = cpu_times()
    with tempfile.TemporaryDirectory(prefix="openbooking-sidebyside-") as tmp:
        folder = Path(tmp)
        with load.Server("", folder / "bare.log", app="bench.bare:app") as bare_server:
            bare_app = Bare(bare_server)
            if "booking" not in args.skip:
                url = dataset.sqlite_url(folder / "booking.db")
                result["booking_sqlite"] = booking_part(url, 1, bare_app, budget, folder)
                log(json.dumps({"booking_sqlite": result["booking_sqlite"]}))
            if args.postgres and "postgres" not in args.skip:
                result["booking_postgres"] = booking_part(
                    args.postgres, POSTGRES_WORKERS, bare_app, budget, folder
                )
                log(json.dumps({"booking_postgres": result["booking_postgres"]}))
            needs = {HTTP_RECORDS} if "http" not in args.skip else set()
            needs |= set(MONTH_RECORDS) if "month" not in args.skip else set()
            databases = {
                count: asyncio.run(
                    dataset.build(dataset.sqlite_url(folder / f"r{count}.db"), data, today, count)
                )
                for count in sorted(needs)
            }
            if "http" not in args.skip:
                result["http"] = http_part(databases[HTTP_RECORDS], bare_app, budget, folder)
                log(json.dumps({"http": result["http"]}))
        if "month" not in args.skip:
            result["month"] = asyncio.run(month_part(databases, budget))
    result["machine"]["load_average_1m_after"] = load_average()
    result["machine"]["cpu_steal_percent"] = steal_percent(steal_before)
    result["clock_steps"] = CLOCK_STEPS
    result["targets"] = verdicts(result)
    if args.quick:
        result["note"] = "quick run: a smoke test; judge the targets on a full run"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
