"""Benchmark data: a generated business file, a partner token and bulk records.

Everything follows from today's date and a seed. Two locations in Europe/Berlin with 50 members
each; the benchmarked one (`LOCATION_ID`) offers three services that every member performs. The
record stream is fixed: first `NEAR_RECORDS` records on the days around the benchmark date at
the benchmarked location, then records on every other day, from the end of the booking horizon
back into past years, for the members of both locations. A database with N records holds the
first N of that stream, so a small and a large database answer the benchmark date identically.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, insert, make_url, text

from openbooking import migrations
from openbooking.availability.slots import DaySchedule
from openbooking.business import document, loader
from openbooking.kit.db import create_engine, create_sessionmaker, is_sqlite
from openbooking.models import Record
from openbooking.models.records import RECORD_ACTIVE
from openbooking.partners import service as partners

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

TIMEZONE = "Europe/Berlin"
ZONE = ZoneInfo(TIMEZONE)
LOCATION_ID = 1  # the benchmarked location
OTHER_LOCATION_ID = 2  # a neighbour whose records only add bulk
MEMBERS = 50  # per location
SLOT_STEP = 900
HORIZON_DAYS = 60
NEAR_RECORDS = 1_000
INSERT_CHUNK = 20_000
MAX_DAYS_BACK = 40 * 366
# (title, duration): every member performs all three.
SERVICES = (("Haircut", "45m"), ("Colour", "1h30m"), ("Blow-dry", "30m"))
# Weekly working days, cycled over the team: hours with a break, or a split shift.
SHIFTS: tuple[Any, ...] = (
    {"hours": "09:00-18:00", "breaks": ["13:00-13:30"]},
    {"hours": "10:00-19:00", "breaks": ["14:00-14:45"]},
    {"hours": "08:00-16:30", "breaks": ["12:00-12:30"]},
    ["09:00-13:00", "14:00-20:00"],
)


def bench_day(today: date) -> date:
    """A weekday seven days from `today` (the Monday after, when that is a weekend)."""
    day = today + timedelta(days=7)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def local_today() -> date:
    return datetime.now(ZONE).date()


# ---------------------------------------------------------------------------- the business file


def business(today: date) -> dict[str, Any]:
    """A business file (as `document.read` returns it) with both locations."""
    return {
        "version": 1,
        "locations": [
            _location(LOCATION_ID, "Bench Mitte", today),
            _location(OTHER_LOCATION_ID, "Bench Nord", today),
        ],
    }


def service_ids(location_id: int) -> list[int]:
    return [location_id * 100 + number for number in range(1, len(SERVICES) + 1)]


def staff_ids(location_id: int) -> list[int]:
    return [location_id * 1000 + number for number in range(1, MEMBERS + 1)]


def _location(location_id: int, title: str, today: date) -> dict[str, Any]:
    category = location_id * 10
    return {
        "id": location_id,
        "title": title,
        "timezone": TIMEZONE,
        "booking": {"min_notice": "1h", "horizon_days": HORIZON_DAYS, "slot_step": "15m"},
        "categories": [{"id": category, "title": "Hair"}],
        "services": [
            {"id": service_id, "title": name, "category": category, "duration": duration}
            for service_id, (name, duration) in zip(service_ids(location_id), SERVICES, strict=True)
        ],
        "staff": [
            _member(staff_id, index, service_ids(location_id), today)
            for index, staff_id in enumerate(staff_ids(location_id))
        ],
    }


def _member(staff_id: int, index: int, services: list[int], today: date) -> dict[str, Any]:
    """Five days a week (the two days off rotate over the team), a few dated exceptions."""
    days_off = {index % 7, (index + 1) % 7}
    shift = SHIFTS[index % len(SHIFTS)]
    schedule: dict[str, Any] = {
        "weekly": {name: shift for n, name in enumerate(document.WEEKDAYS) if n not in days_off}
    }
    if index % 5 == 0:
        short_day = today + timedelta(days=2 + index % 20)
        schedule["exceptions"] = [{"date": short_day.isoformat(), "hours": ["10:00-14:00"]}]
    if index % 7 == 3:
        schedule["days_off"] = [(today + timedelta(days=3 + index % 25)).isoformat()]
    # Every third member takes longer over the first service.
    links: list[Any] = [{"service": services[0], "duration": "1h"}, *services[1:]]
    return {
        "id": staff_id,
        "name": f"Member {index + 1}",
        "weight": MEMBERS - index,
        "services": links if index % 3 == 0 else services,
        "schedule": schedule,
    }


# ------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Member:
    """What record generation needs to know about one member."""

    staff_id: int
    location_id: int
    lengths: tuple[int, ...]  # seconds of each service they perform
    weekly: dict[int, list[tuple[int, int]]]  # weekday -> working spans, breaks cut out
    unusual: frozenset[date]  # days off and exception days: no records generated there


def members(data: dict[str, Any]) -> list[Member]:
    found = []
    for location in data["locations"]:
        defaults = {item["id"]: document.seconds(item["duration"]) for item in location["services"]}
        for item in location["staff"]:
            lengths = tuple(
                defaults[link] if isinstance(link, int) else document.seconds(link["duration"])
                for link in item["services"]
            )
            schedule = item["schedule"]
            weekly = {}
            for number, name in enumerate(document.WEEKDAYS):
                if name in schedule["weekly"]:
                    day = document.parse_day(schedule["weekly"][name], name)
                    weekly[number] = DaySchedule(tuple(day.hours), tuple(day.breaks)).working()
            unusual = {date.fromisoformat(text) for text in schedule.get("days_off", [])}
            unusual |= {date.fromisoformat(e["date"]) for e in schedule.get("exceptions", [])}
            found.append(Member(item["id"], location["id"], lengths, weekly, frozenset(unusual)))
    return found


def occupancy(day: date, today: date) -> float:
    """The booked share of a working day: 70% in the past, falling to 10% at the horizon."""
    ahead = (day - today).days
    if ahead <= 0:
        return 0.7
    return max(0.1, 0.7 * (1 - ahead / HORIZON_DAYS))


def local_midnight(day: date) -> datetime:
    """Local midnight of `day` in UTC, by the offset at noon (clocks change at night)."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=ZONE)
    return noon.astimezone(UTC) - timedelta(hours=12)


def _day_records(
    member: Member, day: date, share: float, created: datetime, rng: random.Random
) -> Iterator[dict[str, Any]]:
    """Back-to-back visits with gaps inside the member's working spans, never overlapping."""
    spans = member.weekly.get(day.weekday())
    if not spans or day in member.unusual:
        return
    midnight = local_midnight(day)
    for start, end in spans:
        moment = start
        while True:
            length = rng.choice(member.lengths)
            if moment + length > end:
                break
            if rng.random() >= share:
                moment += SLOT_STEP * rng.randint(1, 4)
                continue
            starts_at = midnight + timedelta(seconds=moment)
            moment += length
            yield {
                "location_id": member.location_id,
                "staff_id": member.staff_id,
                "client_id": None,
                "starts_at": starts_at,
                "ends_at": starts_at + timedelta(seconds=length),
                "status": RECORD_ACTIVE,
                "hash_digest": rng.randbytes(32).hex(),
                "client_phone": "",
                "client_name": "",
                "client_email": "",
                "comment": "",
                "api_id": "",
                "custom_fields": {},
                "master_requested": True,
                "online": True,
                "attendance": 0,
                "notify_by_sms": 0,
                "notify_by_email": 0,
                "created_at": created,
                "updated_at": created,
            }


def records(data: dict[str, Any], today: date, *, seed: int = 1) -> Iterator[dict[str, Any]]:
    """The record stream described in the module docstring (take as many as wanted)."""
    rng = random.Random(seed)
    created = datetime.now(UTC)
    everyone = members(data)
    local = [member for member in everyone if member.location_id == LOCATION_ID]
    centre = bench_day(today)
    near_days: set[date] = set()
    near: list[dict[str, Any]] = []
    distance = 0
    while len(near) < NEAR_RECORDS:
        for day in sorted({centre - timedelta(days=distance), centre + timedelta(days=distance)}):
            near_days.add(day)
            for member in local:
                near.extend(_day_records(member, day, occupancy(day, today), created, rng))
        distance += 1
    yield from near[:NEAR_RECORDS]
    day = today + timedelta(days=HORIZON_DAYS)
    for _ in range(MAX_DAYS_BACK):
        share = occupancy(day, today)
        for member in everyone:
            if member.location_id != LOCATION_ID or day not in near_days:
                yield from _day_records(member, day, share, created, rng)
        day -= timedelta(days=1)


# ------------------------------------------------------------------------------------ database


@dataclass(frozen=True)
class Database:
    url: str
    token: str
    records: int
    seconds: float  # to build it


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def build(url: str, data: dict[str, Any], today: date, count: int) -> Database:
    """A database migrated at `url` (a new SQLite file, or an empty PostgreSQL database: see
    `drop_tables`) with the business, a partner token and `count` records."""
    started = time.perf_counter()
    migrations.upgrade(url)
    document.check(data)
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await loader.load(session, data)
            token = await partners.create(session, "bench")
    finally:
        await engine.dispose()
    inserted = await _insert(url, islice(records(data, today), count))
    if inserted != count:
        raise RuntimeError(f"generated {inserted} records, wanted {count}")
    return Database(url, token, inserted, time.perf_counter() - started)


def _bulk_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    """A big page cache keeps the random `hash_digest` index in memory, and a crash could only
    lose a throw-away file."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA cache_size=-1000000")
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


async def _insert(url: str, rows: Iterable[dict[str, Any]]) -> int:
    """Insert `rows` with executemany in chunks, in one transaction; how many there were."""
    engine = create_engine(url)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _bulk_pragmas)
    inserted = 0
    try:
        async with engine.begin() as connection:
            for chunk in _chunks(rows, INSERT_CHUNK):
                await connection.execute(insert(Record), chunk)
                inserted += len(chunk)
    finally:
        await engine.dispose()
    return inserted


async def drop_tables(url: str) -> None:
    """Empty the database's `public` schema (tables, the catalog-version triggers' functions,
    the btree_gist extension, alembic's version table), so that `build` starts afresh.

    Only for a throw-away database: the name must say so (it contains "bench" or "test").
    """
    name = make_url(url).database or ""
    if "bench" not in name and "test" not in name:
        raise ValueError(f"refusing to drop the tables of {name!r}: not a bench or test database")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()
