"""Booking throughput under contention: many clients, few slots. Prints one JSON object.

    .venv/bin/python -m bench.booking [--quick] [--postgres URL] [--workers N]

A real `openbooking serve` process (SQLite by default) and 64 clients that keep
`POST /api/v1/book_record` busy on a pool of a few dozen slots (three members, one day) until
every slot is taken; then everything is cancelled and the next round starts. Each client picks
at random among the slots not yet known to be taken (a 201 or a 433 tells it), so several
clients race for most slots. The same clients then book a larger pool without contention (each
its own slots), and the cheapest authenticated endpoint (`i18n`) gives the baseline of the run.
After every round the database is checked: no two active records of one member overlap, and it
holds as many records as were created. Progress goes to stderr. See bench/README.md.
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
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import aliased

from bench import dataset, load
from bench.run import TRIVIAL_PATH, headers, machine
from openbooking.kit.db import create_engine, is_sqlite
from openbooking.models import Record
from openbooking.models.records import RECORD_ACTIVE, RECORD_CANCELLED

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from sqlalchemy.ext.asyncio import AsyncEngine

CLIENTS = 64
POOL_MEMBERS = 3  # whose day is the contended pool
SERVICE_ID = dataset.service_ids(dataset.LOCATION_ID)[0]  # 45 min; 1 h for every third member
TAKEN = 433
BOOK_PATH = f"/api/v1/book_record/{dataset.LOCATION_ID}"


@dataclass(frozen=True)
class Budget:
    """How much load, for how long."""

    rounds: int  # contended: every slot of the small pool taken, then all cancelled
    free_rounds: int  # uncontended: the same, each client with its own slots of a large pool
    baseline_seconds: float
    warmup_seconds: float
    clients: int = CLIENTS


FULL = Budget(rounds=20, free_rounds=2, baseline_seconds=10, warmup_seconds=2)
QUICK = Budget(rounds=3, free_rounds=1, baseline_seconds=3, warmup_seconds=1)


def log(message: str) -> None:
    print(f"[bench.booking] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ slots


@dataclass(frozen=True)
class Slot:
    staff_id: int
    start: datetime  # aware

    def body(self, client: int) -> dict[str, Any]:
        """A `book_record` body from client number `client` (each has its own phone)."""
        return {
            "phone": f"+49151{10_000_000 + client}",
            "fullname": f"Bench Client {client}",
            "appointments": [
                {
                    "id": 1,
                    "services": [SERVICE_ID],
                    "staff_id": self.staff_id,
                    "datetime": self.start.astimezone(dataset.ZONE).isoformat(),
                }
            ],
        }


def day_slots(member: dataset.Member, day: date) -> list[Slot]:
    """Back-to-back visits over the member's working spans on `day`: no two overlap, and every
    one is bookable on an empty day (the spans start on the 15-minute grid)."""
    length = member.lengths[0]  # SERVICE_ID is every member's first service
    midnight = dataset.local_midnight(day)
    return [
        Slot(member.staff_id, midnight + timedelta(seconds=moment))
        for start, end in member.weekly[day.weekday()]
        for moment in range(start, end - length + 1, length)
    ]


def working(data: dict[str, Any], day: date) -> list[dataset.Member]:
    """The benchmarked location's members who work a normal day on `day`."""
    return [
        member
        for member in dataset.members(data)
        if member.location_id == dataset.LOCATION_ID
        and day.weekday() in member.weekly
        and day not in member.unusual
    ]


def check_listed(base_url: str, token: str, day: date, pool: Sequence[Slot]) -> None:
    """Every slot of the pool must be one that `book_times` lists, or 433s would be ours."""
    for staff_id in sorted({slot.staff_id for slot in pool}):
        url = f"{base_url}/api/v1/book_times/{dataset.LOCATION_ID}/{staff_id}/{day}"
        answer = httpx.get(url, params={"service_ids[]": SERVICE_ID}, headers=headers(token))
        answer.raise_for_status()
        listed = {datetime.fromisoformat(item["datetime"]) for item in answer.json()["data"]}
        missing = [s.start for s in pool if s.staff_id == staff_id and s.start not in listed]
        if missing:
            raise RuntimeError(f"book_times does not list {missing} for member {staff_id}")


# ------------------------------------------------------------------------------------- load


@dataclass
class Tally:
    """What the clients saw, over all rounds of one phase."""

    outcomes: Counter[str] = field(default_factory=Counter)  # "201", "422/433", "500", ...
    latencies: list[float] = field(default_factory=list)  # seconds, every answered attempt
    by_outcome: dict[str, list[float]] = field(default_factory=dict)  # the same, by outcome
    seconds: float = 0.0  # wall time of the rounds
    server_cpu: float | None = 0.0
    client_cpu: float = 0.0
    rounds: int = 0
    first_error: str = ""

    @property
    def created(self) -> int:
        return self.outcomes["201"]

    def record(self, response: httpx.Response, seconds: float) -> str:
        outcome = str(response.status_code)
        if response.status_code == 422:
            errors = response.json()["meta"]["errors"]
            outcome += f"/{errors[0]['code'] if errors else ''}"
        self.outcomes[outcome] += 1
        self.latencies.append(seconds)
        self.by_outcome.setdefault(outcome, []).append(seconds)
        if response.status_code not in (201, 422) and not self.first_error:
            self.first_error = f"{response.status_code}: {response.text[:300]}"
        return outcome


async def attempt(client: httpx.AsyncClient, url: str, body: Any, tally: Tally) -> str:
    started = time.perf_counter()
    try:
        response = await client.post(url, json=body)
    except httpx.TransportError as exc:
        tally.outcomes["transport error"] += 1
        tally.first_error = tally.first_error or repr(exc)
        return "transport error"
    return tally.record(response, time.perf_counter() - started)


if TYPE_CHECKING:
    # contended or uncontended: (clients, url, pool, tally, round number)
    Phase = Callable[
        [Sequence[httpx.AsyncClient], str, Sequence[Slot], Tally, int], Awaitable[None]
    ]


async def contended(
    clients: Sequence[httpx.AsyncClient], url: str, pool: Sequence[Slot], tally: Tally, seed: int
) -> None:
    """Every client books a random slot not known to be taken, until none is left."""
    free = list(pool)

    async def client_loop(client: httpx.AsyncClient, number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        while free:
            slot = rng.choice(free)
            await attempt(client, url, slot.body(number), tally)
            # 201: ours; 433: someone else's. Anything else is counted and not retried.
            if slot in free:
                free.remove(slot)

    await asyncio.gather(*(client_loop(c, n) for n, c in enumerate(clients)))


async def uncontended(
    clients: Sequence[httpx.AsyncClient], url: str, pool: Sequence[Slot], tally: Tally, _seed: int
) -> None:
    """With N clients, client n books slots n, n + N, n + 2N, … of the pool in turn."""

    async def client_loop(client: httpx.AsyncClient, number: int) -> None:
        for slot in pool[number :: len(clients)]:
            await attempt(client, url, slot.body(number), tally)

    await asyncio.gather(*(client_loop(c, n) for n, c in enumerate(clients)))


# -------------------------------------------------------------------------------- database


@dataclass
class Checks:
    created: int = 0  # 201s, every round including the warm-up
    unbooked: int = 0  # slots of a pool still free after a round
    overlapping_pairs: int = 0  # active records of one member that overlap, summed over rounds
    active_not_created: int = 0  # active records after a round minus its 201s (either way)
    stored: int = 0  # records in the database at the end


_a, _b = aliased(Record), aliased(Record)
OVERLAPS = (
    select(func.count())
    .select_from(_a)
    .join(
        _b,
        and_(
            _a.staff_id == _b.staff_id,
            _a.id < _b.id,
            _a.starts_at < _b.ends_at,
            _b.starts_at < _a.ends_at,
        ),
    )
    .where(_a.status == RECORD_ACTIVE, _b.status == RECORD_ACTIVE)
)
ACTIVE = select(func.count()).select_from(Record).where(Record.status == RECORD_ACTIVE)


async def settle(engine: AsyncEngine, checks: Checks, pool_size: int, created: int) -> None:
    """After a round: check the records it made, then cancel them all for the next one."""
    async with engine.begin() as connection:
        active = (await connection.execute(ACTIVE)).scalar_one()
        checks.overlapping_pairs += (await connection.execute(OVERLAPS)).scalar_one()
        await connection.execute(
            update(Record).where(Record.status == RECORD_ACTIVE).values(status=RECORD_CANCELLED)
        )
    checks.created += created
    checks.active_not_created += abs(active - created)
    checks.unbooked += pool_size - created


@dataclass(frozen=True)
class Rounds:
    """Runs rounds of bookings against one server and database."""

    server: load.Server
    engine: AsyncEngine
    token: str
    clients: int
    checks: Checks

    async def run(self, phase: Phase, pool: Sequence[Slot], count: int) -> Tally:
        """`count` rounds of `phase` over `pool`, each settled."""
        tally = Tally()
        url = f"{self.server.base_url}{BOOK_PATH}"
        async with load.clients(headers(self.token), self.clients) as clients:
            for number in range(count):
                created_before = tally.created
                cpu_before, client_before = self.server.cpu_seconds(), time.process_time()
                started = time.perf_counter()
                await phase(clients, url, pool, tally, number)
                tally.seconds += time.perf_counter() - started
                cpu_after = self.server.cpu_seconds()
                tally.client_cpu += time.process_time() - client_before
                if None in (tally.server_cpu, cpu_before, cpu_after):
                    tally.server_cpu = None
                else:
                    tally.server_cpu += cpu_after - cpu_before  # type: ignore[operator]
                tally.rounds += 1
                created = tally.created - created_before
                await settle(self.engine, self.checks, len(pool), created)
        return tally


def figures(tally: Tally, slots: int) -> dict[str, Any]:
    attempts = len(tally.latencies) + tally.outcomes["transport error"]
    server_errors = sum(n for outcome, n in tally.outcomes.items() if outcome.startswith("5"))
    answered = sorted(tally.latencies)
    cpu = tally.server_cpu
    return {
        "rounds": tally.rounds,
        "slots_per_round": slots,
        "attempts": attempts,
        "created": tally.created,
        "refused_433": tally.outcomes[f"422/{TAKEN}"],
        "server_errors": server_errors,
        "statuses": dict(sorted(tally.outcomes.items())),
        "first_error": tally.first_error or None,
        "seconds": round(tally.seconds, 2),
        "created_per_s": round(tally.created / tally.seconds, 1),
        "attempts_per_s": round(attempts / tally.seconds, 1),
        "attempts_per_created": round(attempts / max(1, tally.created), 2),
        "p50_ms": round(load.percentile(answered, 50) * 1e3, 1),
        "p99_ms": round(load.percentile(answered, 99) * 1e3, 1),
        "max_ms": round(answered[-1] * 1e3, 1),
        "server_cpu": None if cpu is None else round(cpu / tally.seconds, 2),
        "server_cpu_ms_per_attempt": None if cpu is None else round(cpu / attempts * 1e3, 2),
        "client_cpu": round(tally.client_cpu / tally.seconds, 2),
    }


def server_log_errors(path: Path) -> dict[str, Any]:
    """Tracebacks and error lines the server wrote (it logs at `warning`), with the lines
    after the first one: the log is deleted with the temporary folder."""
    lines = path.read_text(errors="replace").splitlines()
    bad = [
        number
        for number, line in enumerate(lines)
        if "Traceback" in line or "ERROR" in line or "database is locked" in line
    ]
    excerpt = [line[:300] for line in lines[bad[0] : bad[0] + 40]] if bad else []
    return {"error_lines": len(bad), "excerpt": excerpt}


# ------------------------------------------------------------------------------------ main


async def prepare(url: str, data: dict[str, Any], today: date) -> dataset.Database:
    if not is_sqlite(url):
        await dataset.drop_tables(url)
    return await dataset.build(url, data, today, 0)


def bench(url: str, workers: int, budget: Budget, folder: Path) -> dict[str, Any]:
    today = dataset.local_today()
    day = dataset.bench_day(today)
    data = dataset.business(today)
    team = working(data, day)
    pool = [slot for member in team[:POOL_MEMBERS] for slot in day_slots(member, day)]
    large_pool = [slot for member in team for slot in day_slots(member, day)]
    log(f"database: {'SQLite' if is_sqlite(url) else 'PostgreSQL'}, {workers} worker(s)")
    database = asyncio.run(prepare(url, data, today))
    checks = Checks()
    result: dict[str, Any] = {
        "setup": {
            "database": "SQLite file (WAL)" if is_sqlite(url) else "PostgreSQL",
            "server": f"openbooking serve: uvicorn, {workers} worker(s), log level warning",
            "clients": budget.clients,
            "client": "asyncio + httpx, one connection per client, in the benchmark process",
            "location_id": dataset.LOCATION_ID,
            "phone_confirmation": False,
            "day": day.isoformat(),
            "service_id": SERVICE_ID,
            "contended_pool": {
                "members": [m.staff_id for m in team[:POOL_MEMBERS]],
                "slots": len(pool),
            },
            "uncontended_pool": {"members": len(team), "slots": len(large_pool)},
        }
    }
    with load.Server(database.url, folder / "server.log", workers=workers) as server:
        check_listed(server.base_url, database.token, day, large_pool)
        auth = headers(database.token)
        trivial = f"{server.base_url}{TRIVIAL_PATH}"
        connections = budget.clients
        log(f"baseline: i18n, {connections} connections, {budget.baseline_seconds:g} s")
        load.drive(server, trivial, auth, connections, budget.warmup_seconds)
        baseline = load.drive(server, trivial, auth, connections, budget.baseline_seconds)
        busy, free = asyncio.run(book(server, database, (pool, large_pool), budget, checks))
    checks.stored = asyncio.run(count_records(url))
    contention, no_contention = figures(busy, len(pool)), figures(free, len(large_pool))
    result["baseline_i18n"] = {"client": load.client_name(), **asdict(baseline)}
    result["contended"] = contention
    result["uncontended"] = no_contention
    result["ratios"] = {
        "attempts_per_s_vs_i18n": round(contention["attempts_per_s"] / baseline.rps, 3),
        "created_per_s_vs_i18n": round(contention["created_per_s"] / baseline.rps, 3),
        "uncontended_created_per_s_vs_i18n": round(
            no_contention["created_per_s"] / baseline.rps, 3
        ),
        "contended_vs_uncontended_created_per_s": round(
            contention["created_per_s"] / no_contention["created_per_s"], 3
        ),
        "p99_vs_i18n_p99": round(contention["p99_ms"] / baseline.p99_ms, 2),
    }
    server_errors = contention["server_errors"] + no_contention["server_errors"]
    result["invariants"] = {
        **asdict(checks),
        "ok": checks.overlapping_pairs == 0
        and checks.stored == checks.created
        and checks.active_not_created == 0
        and checks.unbooked == 0
        and server_errors == 0,
    }
    result["server_log"] = server_log_errors(folder / "server.log")
    return result


async def book(
    server: load.Server,
    database: dataset.Database,
    pools: tuple[list[Slot], list[Slot]],
    budget: Budget,
    checks: Checks,
) -> tuple[Tally, Tally]:
    """A warm-up round, the contended rounds, the uncontended rounds."""
    pool, large_pool = pools
    engine = create_engine(database.url)
    rounds = Rounds(server, engine, database.token, budget.clients, checks)
    try:
        log("warm-up: one contended round, not counted")
        await rounds.run(contended, pool, 1)
        log(f"contended: {budget.rounds} rounds of {len(pool)} slots, {budget.clients} clients")
        busy = await rounds.run(contended, pool, budget.rounds)
        log(f"uncontended: {budget.free_rounds} rounds of {len(large_pool)} slots")
        free = await rounds.run(uncontended, large_pool, budget.free_rounds)
    finally:
        await engine.dispose()
    return busy, free


async def count_records(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            stored: int = (
                await connection.execute(select(func.count()).select_from(Record))
            ).scalar_one()
            return stored
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.booking", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="3 contended rounds instead of 20")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run against this PostgreSQL database (postgresql+asyncpg://…) instead of a "
        "temporary SQLite file; its tables are dropped first (its name must contain "
        '"bench" or "test")',
    )
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument(
        "--clients", type=int, default=CLIENTS, help=f"concurrent clients (default {CLIENTS})"
    )
    args = parser.parse_args(argv)
    budget = replace(QUICK if args.quick else FULL, clients=args.clients)
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        # The machine is shared: the load average tells how busy it was around the run.
        "machine": {**machine(), "load_average_1m_before": os.getloadavg()[0]},
    }
    with tempfile.TemporaryDirectory(prefix="openbooking-bench-") as tmp:
        folder = Path(tmp)
        url = args.postgres or dataset.sqlite_url(folder / "booking.db")
        result.update(bench(url, args.workers, budget, folder))
    result["machine"]["load_average_1m_after"] = os.getloadavg()[0]
    if args.quick:
        result["note"] = "quick run: a smoke test; compare figures of full runs"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
