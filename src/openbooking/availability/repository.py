"""Availability reads, batched for all members and the whole range, in as few round trips as
possible: every request of the booking widget comes here, and each round trip through the async
driver costs more than the query itself.

What a location's team looks like (settings, members, service lengths, schedules) changes rarely
and is cached per process by the service; `busy_and_version` reads the busy time of a request
together with the catalog version that tells whether such a cache is still current.

The statements are built once at import with bound parameters (building one costs about as much
as running it). Everything is read as plain columns of the tables, not as ORM objects: a request
may read hundreds of rows, and what is cached outlives the session.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Integer,
    bindparam,
    cast,
    literal_column,
    null,
    select,
    union_all,
)

from openbooking.availability import busy
from openbooking.availability.slots import DaySchedule, Interval
from openbooking.kit import fastread
from openbooking.models import (
    BusyVersion,
    CatalogVersion,
    DayOff,
    Location,
    Position,
    ScheduleInterval,
    Service,
    Staff,
    StaffService,
)
from openbooking.models.records import BUSY_BUCKETS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import ColumnElement
    from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class StaffRow:
    """What availability and `book_staff` read about a member: columns of `staff`, same names."""

    id: int
    name: str
    specialization: str
    avatar: str
    avatar_big: str
    rating: float
    votes_count: int
    comments_count: int
    show_rating: bool
    weight: int
    information: str
    api_id: str


@dataclass(frozen=True, slots=True)
class PositionRow:
    id: int
    title: str


_STAFF_COLUMNS = [getattr(Staff, name).label(f"staff_{name}") for name in StaffRow.__slots__]

# A location's settings with its bookable members in display order: a row per member and
# service, or one row without a member when the location has none.
TEAM = (
    select(
        Location.timezone,
        Location.slot_step_seconds,
        Location.min_notice_seconds,
        Location.horizon_days,
        Position.id.label("position_id"),
        Position.title.label("position_title"),
        Service.id.label("service_id"),
        StaffService.duration_seconds.label("own_length"),
        Service.duration_seconds.label("default_length"),
        *_STAFF_COLUMNS,
    )
    .select_from(Location)
    .outerjoin(
        Staff,
        (Staff.location_id == Location.id) & Staff.deleted.is_(False) & Staff.bookable.is_(True),
    )
    .outerjoin(Position, Position.id == Staff.position_id)
    .outerjoin(StaffService, StaffService.staff_id == Staff.id)
    .outerjoin(
        Service,
        (Service.id == StaffService.service_id)
        & Service.deleted.is_(False)
        & Service.active.is_(True),
    )
    .where(Location.id == bindparam("location_id"), Location.deleted.is_(False))
    .order_by(Staff.weight.desc(), Staff.id)
)

# Rows of different kinds come in one round trip as a union told apart by `kind`, with NULL
# where a column does not apply.
INTERVAL, DAY_OFF, BUSY, VERSION, COUNTER = 1, 2, 3, 4, 5


def _kind(kind: int) -> ColumnElement[int]:
    return literal_column(str(kind), Integer).label("kind")


_intervals = ScheduleInterval.__table__.c
_days_off = DayOff.__table__.c
_versions = CatalogVersion.__table__.c
# Every working interval and day off of the members, whatever the date: they are cached.
SCHEDULES = union_all(
    select(
        _intervals.staff_id,
        _kind(INTERVAL),
        _intervals.weekday,
        _intervals.date,
        _intervals.start_second,
        _intervals.end_second,
        _intervals.is_break,
    ).where(_intervals.staff_id.in_(bindparam("staff_ids", expanding=True))),
    select(
        _days_off.staff_id,
        _kind(DAY_OFF),
        null(),
        _days_off.date,
        null(),
        null(),
        null(),
    ).where(_days_off.staff_id.in_(bindparam("staff_ids", expanding=True))),
)
# Busy intervals of every source, and the catalog version in the same statement (its row
# carries the version in `staff_id`); with them, when asked, the members' busy-time counters
# (`BusyVersion`): a row per bucket, its bucket in `staff_id` and its count in `count` (NULL in
# the other rows).
_NO_COUNT = cast(null(), BigInteger).label("count")
_BUSY = [source.add_columns(_kind(BUSY), _NO_COUNT) for source in busy.SOURCES]
VERSION_ONLY = select(
    _versions.version.label("staff_id"),
    null().label("starts_at"),
    null().label("ends_at"),
    _kind(VERSION),
    _NO_COUNT,
).where(_versions.id == 1)
_counters = BusyVersion.__table__.c
COUNTERS = select(
    _counters.bucket.label("staff_id"),
    null().label("starts_at"),
    null().label("ends_at"),
    _kind(COUNTER),
    _counters.version.label("count"),
).where(_counters.bucket.in_(bindparam("buckets", expanding=True)))
BUSY_AND_VERSION = union_all(*_BUSY, VERSION_ONLY)
# The same, run on the hot path in one hand-off to the driver, rows as tuples (`kit.fastread`).
_FAST_BUSY_ONLY = fastread.Statement(union_all(*_BUSY))
_FAST_VERSION_ONLY = fastread.Statement(VERSION_ONLY)
_FAST_BUSY_AND_VERSION = fastread.Statement(BUSY_AND_VERSION)
_FAST_BUSY_COUNTED = fastread.Statement(union_all(*_BUSY, COUNTERS))
_FAST_BUSY_COUNTED_AND_VERSION = fastread.Statement(union_all(*_BUSY, COUNTERS, VERSION_ONLY))


@dataclass(slots=True)
class Team:
    """A location's booking settings and its members, each with every service's length."""

    timezone: str
    slot_step_seconds: int
    min_notice_seconds: int
    horizon_days: int
    members: list[tuple[StaffRow, PositionRow | None, dict[int, int]]] = field(default_factory=list)


async def team(session: AsyncSession, location_id: int) -> Team | None:
    """The location (None when there is none) with its bookable members."""
    result: Team | None = None
    lengths: dict[int, dict[int, int]] = {}
    for row in await session.execute(TEAM, {"location_id": location_id}):
        if result is None:
            result = Team(
                row.timezone, row.slot_step_seconds, row.min_notice_seconds, row.horizon_days
            )
        staff_id = row.staff_id
        if staff_id is None:
            continue
        if staff_id not in lengths:
            lengths[staff_id] = {}
            position = (
                PositionRow(row.position_id, row.position_title)
                if row.position_id is not None
                else None
            )
            member = StaffRow(
                **{name: row._mapping[f"staff_{name}"] for name in StaffRow.__slots__}
            )
            result.members.append((member, position, lengths[staff_id]))
        if row.service_id is not None:  # a link to a deleted or inactive service does not count
            own = row.own_length
            lengths[staff_id][row.service_id] = own if own is not None else row.default_length
    return result


@dataclass(frozen=True, slots=True)
class Schedules:
    """Weekly schedules, dated exceptions and days off of some members, by member id."""

    weekly: dict[int, dict[int, DaySchedule]] = field(default_factory=dict)
    exceptions: dict[int, dict[date, DaySchedule]] = field(default_factory=dict)
    days_off: dict[int, frozenset[date]] = field(default_factory=dict)


async def schedules(session: AsyncSession, staff_ids: Sequence[int]) -> Schedules:
    """All the members' working intervals and days off, past and future."""
    if not staff_ids:
        return Schedules()
    rows = await session.execute(SCHEDULES, {"staff_ids": list(staff_ids)})
    weekly: dict[int, dict[int, DaySchedule]] = defaultdict(dict)
    exceptions: dict[int, dict[date, DaySchedule]] = defaultdict(dict)
    days_off: dict[int, set[date]] = defaultdict(set)
    hours: dict[tuple[int, int | None, date | None], list[tuple[int, int]]] = defaultdict(list)
    breaks: dict[tuple[int, int | None, date | None], list[tuple[int, int]]] = defaultdict(list)
    for staff_id, kind, weekday, on, start, end, is_break in rows:
        if kind == DAY_OFF:
            days_off[staff_id].add(on)
        else:
            (breaks if is_break else hours)[(staff_id, weekday, on)].append((start, end))
    for (staff_id, weekday, on), spans in hours.items():
        day = DaySchedule(tuple(sorted(spans)), tuple(sorted(breaks[(staff_id, weekday, on)])))
        if on is not None:
            exceptions[staff_id][on] = day
        elif weekday is not None:
            weekly[staff_id][weekday] = day
    return Schedules(
        dict(weekly),
        dict(exceptions),
        {staff_id: frozenset(days) for staff_id, days in days_off.items()},
    )


Busy = dict[int, list[Interval]]  # member id -> busy intervals
# Whose busy time over which local dates (first and last, inclusive); or, as `Around`,
# touching which instants.
Wanted = tuple[list[int], date, date]
# Whose busy time touching [from, until) (aware instants): the span a visit may take, which is
# all that a booking's check of the visit needs (a `Wanted`, as a datetime is a date).
Around = tuple[list[int], datetime, datetime]


def _busy_parameters(wanted: Wanted) -> dict[str, Any]:
    """The UTC instants covering the local dates in any zone, or the instants given."""
    staff_ids, first, last = wanted
    if isinstance(first, datetime) and isinstance(last, datetime):
        start, end = first, last
    else:
        start = datetime.combine(first - timedelta(days=1), time(), UTC)
        end = datetime.combine(last + timedelta(days=2), time(), UTC)
    return {
        "staff_ids": list(staff_ids),
        "earliest": start - timedelta(seconds=busy.MAX_BUSY_SECONDS),
        "start": start,
        "end": end,
    }


Counters = dict[int, int]  # bucket -> its count of busy-time changes


def bucket(staff_id: int) -> int:
    """The row of `busy_versions` that counts the member's busy-time changes."""
    return staff_id & (BUSY_BUCKETS - 1)


def _collect(read: tuple[list[Any], list[fastread.Decoder]]) -> tuple[int | None, Busy, Counters]:
    """Raw rows of `staff_id, starts_at, ends_at, kind, count` with their column decoders."""
    rows, (_, start, end, _, _) = read
    known_start, known_end = start.memo.get, end.memo.get
    version: int | None = None
    found: Busy = defaultdict(list)
    counters: Counters = {}
    for staff_id, starts_at, ends_at, kind, count in rows:
        if kind == BUSY:
            found[staff_id].append(
                (known_start(starts_at) or start(starts_at), known_end(ends_at) or end(ends_at))
            )
        elif kind == COUNTER:
            counters[staff_id] = count
        else:
            version = staff_id
    return version, found, counters


async def busy_time(session: AsyncSession, wanted: Wanted) -> Busy:
    """The members' busy intervals over the local dates, or touching the instants."""
    if not wanted[0]:
        return {}
    return _collect(await fastread.rows(session, _FAST_BUSY_ONLY, _busy_parameters(wanted)))[1]


async def busy_and_version(session: AsyncSession, wanted: Wanted | None) -> tuple[int | None, Busy]:
    """The catalog version (None when its row is missing) and the busy time `wanted` asks
    for, read in one statement."""
    if wanted is None or not wanted[0]:
        read = await fastread.rows(session, _FAST_VERSION_ONLY, {})
    else:
        read = await fastread.rows(session, _FAST_BUSY_AND_VERSION, _busy_parameters(wanted))
    version, found, _ = _collect(read)
    return version, found


async def counted_busy(
    session: AsyncSession, wanted: Wanted, read: Sequence[int], *, with_version: bool
) -> tuple[int | None, Busy, Counters]:
    """The busy intervals of the members `read` (some of those `wanted` names, maybe none)
    over `wanted`'s dates, the counters of all the members `wanted` names and, when
    `with_version`, the catalog version (None when its row is missing), in one statement:
    one snapshot, so each interval read is as current as the counter read with it."""
    staff_ids, first, last = wanted
    params = _busy_parameters((list(read), first, last))
    params["buckets"] = sorted({bucket(staff_id) for staff_id in staff_ids})
    statement = _FAST_BUSY_COUNTED_AND_VERSION if with_version else _FAST_BUSY_COUNTED
    return _collect(await fastread.rows(session, statement, params))


async def weekly_hours(
    session: AsyncSession, location_id: int
) -> list[tuple[int, int, int, bool, int]]:
    """The weekly working intervals and breaks of the location's bookable members:
    `(weekday, start_second, end_second, is_break, staff_id)`, weekday 0 = Monday."""
    rows = await session.execute(
        select(
            ScheduleInterval.weekday,
            ScheduleInterval.start_second,
            ScheduleInterval.end_second,
            ScheduleInterval.is_break,
            ScheduleInterval.staff_id,
        )
        .join(Staff, Staff.id == ScheduleInterval.staff_id)
        .where(
            Staff.location_id == location_id,
            Staff.deleted.is_(False),
            Staff.bookable.is_(True),
            ScheduleInterval.weekday.is_not(None),
            ScheduleInterval.date.is_(None),
        )
    )
    return [
        (int(weekday or 0), start, end, is_break, staff_id)
        for weekday, start, end, is_break, staff_id in rows
    ]
