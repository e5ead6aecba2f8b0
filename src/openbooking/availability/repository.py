"""Availability reads, batched for all members and the whole range, in as few round trips as
possible: every request of the booking widget comes here, and each round trip through the async
driver costs more than the query itself.

The statements are built once at import with bound parameters (building one costs about as much
as running it). Schedules and records are read as plain columns of the tables, not as ORM
objects: a request may read hundreds of them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Integer,
    Select,
    bindparam,
    cast,
    literal_column,
    null,
    select,
    union_all,
)

from openbooking.availability.slots import DaySchedule, Interval
from openbooking.models import (
    DayOff,
    Location,
    Position,
    Record,
    ScheduleInterval,
    Service,
    Staff,
    StaffService,
)
from openbooking.models.records import MAX_RECORD_SECONDS, RECORD_ACTIVE

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import date

    from sqlalchemy import ColumnElement
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.types import TypeEngine


def _team_statement(*, one_member: bool) -> Select[*tuple[Any, ...]]:
    """A location's settings with its bookable members (or one), in display order: a row per
    member and service, or one row without a member when nobody matches."""
    members = (
        (Staff.location_id == Location.id) & Staff.deleted.is_(False) & Staff.bookable.is_(True)
    )
    if one_member:
        members &= Staff.id == bindparam("staff_id")
    return (
        select(
            Location.timezone,
            Location.slot_step_seconds,
            Location.min_notice_seconds,
            Location.horizon_days,
            Staff,
            Position,
            Service.id,
            StaffService.duration_seconds,
            Service.duration_seconds,
        )
        .select_from(Location)
        .outerjoin(Staff, members)
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


TEAM = _team_statement(one_member=False)
TEAM_MEMBER = _team_statement(one_member=True)

# What is dated about some members over some days comes in one round trip: a union of working
# intervals (weekly, or dated exceptions), days off and active records, told apart by `kind`.
# Each row is (staff_id, kind, weekday, date, start_second, end_second, is_break, starts_at,
# ends_at), with NULL where a column does not apply.
INTERVAL, DAY_OFF, RECORD = 1, 2, 3


def _kind(kind: int) -> ColumnElement[int]:
    return literal_column(str(kind), Integer).label("kind")


def _null(type_: TypeEngine[Any]) -> ColumnElement[Any]:
    """A NULL of `type_`: the first branch of a union gives the result its types."""
    return cast(null(), type_)


_intervals = ScheduleInterval.__table__.c
_days_off = DayOff.__table__.c
_records = Record.__table__.c
_INTERVALS = select(
    _intervals.staff_id,
    _kind(INTERVAL),
    _intervals.weekday,
    _intervals.date,
    _intervals.start_second,
    _intervals.end_second,
    _intervals.is_break,
    _null(_records.starts_at.type),
    _null(_records.ends_at.type),
).where(
    _intervals.staff_id.in_(bindparam("staff_ids", expanding=True)),
    _intervals.weekday.is_not(None)
    | _intervals.date.between(bindparam("first"), bindparam("last")),
)
_DAYS_OFF = select(
    _days_off.staff_id,
    _kind(DAY_OFF),
    null(),
    _days_off.date,
    null(),
    null(),
    null(),
    null(),
    null(),
).where(
    _days_off.staff_id.in_(bindparam("staff_ids", expanding=True)),
    _days_off.date.between(bindparam("first"), bindparam("last")),
)
# Records intersecting [start, end). The lower bound on `starts_at` (`earliest`: `start` less
# the longest a record can last) keeps this an index range scan on (staff, starts_at) whatever
# the number of past records.
RECORDS = select(
    _records.staff_id,
    _kind(RECORD),
    null(),
    null(),
    null(),
    null(),
    null(),
    _records.starts_at,
    _records.ends_at,
).where(
    _records.staff_id.in_(bindparam("staff_ids", expanding=True)),
    _records.status == RECORD_ACTIVE,
    _records.starts_at >= bindparam("earliest"),
    _records.starts_at < bindparam("end"),
    _records.ends_at > bindparam("start"),
)
SCHEDULES = union_all(_INTERVALS, _DAYS_OFF)
SCHEDULES_AND_RECORDS = union_all(_INTERVALS, _DAYS_OFF, RECORDS)


@dataclass(slots=True)
class Team:
    """A location's booking settings and its members, each with every service's length."""

    timezone: str
    slot_step_seconds: int
    min_notice_seconds: int
    horizon_days: int
    members: list[tuple[Staff, Position | None, dict[int, int]]] = field(default_factory=list)


async def team(session: AsyncSession, location_id: int, staff_id: int | None) -> Team | None:
    """The location (None when there is none) with its bookable members, or the one asked for."""
    if staff_id is None:
        rows = await session.execute(TEAM, {"location_id": location_id})
    else:
        rows = await session.execute(
            TEAM_MEMBER, {"location_id": location_id, "staff_id": staff_id}
        )
    result: Team | None = None
    lengths: dict[int, dict[int, int]] = {}
    for timezone, step, notice, horizon, staff, position, service_id, own, default in rows:
        if result is None:
            result = Team(timezone, step, notice, horizon)
        if staff is None:
            continue
        if staff.id not in lengths:
            lengths[staff.id] = {}
            result.members.append((staff, position, lengths[staff.id]))
        if service_id is not None:  # a link to a deleted or inactive service does not count
            lengths[staff.id][service_id] = own if own is not None else default
    return result


class Schedules:
    """Weekly schedules, dated exceptions and days off of some members."""

    def __init__(self) -> None:
        self.weekly: dict[int, dict[int, DaySchedule]] = defaultdict(dict)
        self.exceptions: dict[int, dict[date, DaySchedule]] = defaultdict(dict)
        self.days_off: dict[int, set[date]] = defaultdict(set)


Busy = dict[int, list[Interval]]  # member id -> records


def _utc_range(first: date, last: date) -> tuple[datetime, datetime]:
    """UTC instants covering the local dates `first` to `last` in any zone."""
    start = datetime.combine(first - timedelta(days=1), time(), UTC)
    end = datetime.combine(last + timedelta(days=2), time(), UTC)
    return start, end


def _record_parameters(staff_ids: Sequence[int], start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "staff_ids": list(staff_ids),
        "earliest": start - timedelta(seconds=MAX_RECORD_SECONDS),
        "start": start,
        "end": end,
    }


def _collect(rows: Iterable[Sequence[Any]]) -> tuple[Schedules, Busy]:
    schedules = Schedules()
    busy: Busy = defaultdict(list)
    hours: dict[tuple[int, int | None, date | None], list[tuple[int, int]]] = defaultdict(list)
    breaks: dict[tuple[int, int | None, date | None], list[tuple[int, int]]] = defaultdict(list)
    for staff_id, kind, weekday, on, start, end, is_break, starts_at, ends_at in rows:
        if kind == RECORD:
            busy[staff_id].append((starts_at, ends_at))
        elif kind == DAY_OFF:
            schedules.days_off[staff_id].add(on)
        else:
            (breaks if is_break else hours)[(staff_id, weekday, on)].append((start, end))
    for (staff_id, weekday, on), spans in hours.items():
        day = DaySchedule(tuple(sorted(spans)), tuple(sorted(breaks[(staff_id, weekday, on)])))
        if on is not None:
            schedules.exceptions[staff_id][on] = day
        elif weekday is not None:
            schedules.weekly[staff_id][weekday] = day
    return schedules, busy


async def schedules(
    session: AsyncSession, staff_ids: Sequence[int], first: date, last: date
) -> Schedules:
    """The members' schedules over the local dates `first` to `last`."""
    if not staff_ids:
        return Schedules()
    rows = await session.execute(
        SCHEDULES, {"staff_ids": list(staff_ids), "first": first, "last": last}
    )
    return _collect(rows)[0]


async def schedules_and_records(
    session: AsyncSession, staff_ids: Sequence[int], first: date, last: date
) -> tuple[Schedules, Busy]:
    """The members' schedules and records over the local dates `first` to `last`."""
    if not staff_ids:
        return Schedules(), {}
    start, end = _utc_range(first, last)
    parameters = {**_record_parameters(staff_ids, start, end), "first": first, "last": last}
    rows = await session.execute(SCHEDULES_AND_RECORDS, parameters)
    return _collect(rows)


async def busy(session: AsyncSession, staff_ids: Sequence[int], first: date, last: date) -> Busy:
    """The members' records over the local dates `first` to `last`."""
    if not staff_ids:
        return {}
    rows = await session.execute(RECORDS, _record_parameters(staff_ids, *_utc_range(first, last)))
    return _collect(rows)[1]
