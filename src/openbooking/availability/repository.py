"""Availability reads, batched: one query per kind for all members and the whole range."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from openbooking.availability.slots import DaySchedule, Interval
from openbooking.models import (
    DayOff,
    Position,
    Record,
    ScheduleInterval,
    Service,
    Staff,
    StaffService,
)
from openbooking.models.records import MAX_RECORD_SECONDS, RECORD_ACTIVE

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date, datetime

    from sqlalchemy.ext.asyncio import AsyncSession


async def staff_with_services(
    session: AsyncSession, location_id: int, staff_id: int | None
) -> list[tuple[Staff, Position | None, dict[int, int]]]:
    """Bookable members (or one) with each service's length for them, in display order."""
    query = (
        select(Staff, Position)
        .outerjoin(Position, Position.id == Staff.position_id)
        .where(
            Staff.location_id == location_id,
            Staff.deleted.is_(False),
            Staff.bookable.is_(True),
        )
        .order_by(Staff.weight.desc(), Staff.id)
    )
    if staff_id is not None:
        query = query.where(Staff.id == staff_id)
    members = [(staff, position) for staff, position in await session.execute(query)]
    if not members:
        return []
    links = await session.execute(
        select(
            StaffService.staff_id,
            StaffService.service_id,
            StaffService.duration_seconds,
            Service.duration_seconds,
        )
        .join(Service, Service.id == StaffService.service_id)
        .where(
            StaffService.staff_id.in_([staff.id for staff, _ in members]),
            Service.deleted.is_(False),
            Service.active.is_(True),
        )
    )
    lengths: dict[int, dict[int, int]] = defaultdict(dict)
    for member_id, service_id, own, default in links:
        lengths[member_id][service_id] = own if own is not None else default
    return [(staff, position, lengths[staff.id]) for staff, position in members]


class Schedules:
    """Weekly schedules, dated exceptions and days off of some members."""

    def __init__(self) -> None:
        self.weekly: dict[int, dict[int, DaySchedule]] = defaultdict(dict)
        self.exceptions: dict[int, dict[date, DaySchedule]] = defaultdict(dict)
        self.days_off: dict[int, set[date]] = defaultdict(set)


async def schedules(
    session: AsyncSession, staff_ids: Sequence[int], first: date, last: date
) -> Schedules:
    result = Schedules()
    if not staff_ids:
        return result
    rows = await session.scalars(
        select(ScheduleInterval).where(
            ScheduleInterval.staff_id.in_(staff_ids),
            ScheduleInterval.weekday.is_not(None) | ScheduleInterval.date.between(first, last),
        )
    )
    hours: dict[tuple[int, int | None, date | None], list[tuple[int, int]]] = defaultdict(list)
    breaks: dict[tuple[int, int | None, date | None], list[tuple[int, int]]] = defaultdict(list)
    for row in rows:
        key = (row.staff_id, row.weekday, row.date)
        (breaks if row.is_break else hours)[key].append((row.start_second, row.end_second))
    for (staff_id, weekday, on), spans in hours.items():
        schedule = DaySchedule(tuple(sorted(spans)), tuple(sorted(breaks[(staff_id, weekday, on)])))
        if on is not None:
            result.exceptions[staff_id][on] = schedule
        elif weekday is not None:
            result.weekly[staff_id][weekday] = schedule
    days_off = await session.execute(
        select(DayOff.staff_id, DayOff.date).where(
            DayOff.staff_id.in_(staff_ids), DayOff.date.between(first, last)
        )
    )
    for staff_id, on in days_off:
        result.days_off[staff_id].add(on)
    return result


async def busy(
    session: AsyncSession, staff_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, list[Interval]]:
    """Active records of the members that intersect [start, end).

    The lower bound on `starts_at` keeps this an index range scan on (staff, starts_at) whatever
    the number of past records.
    """
    if not staff_ids:
        return {}
    rows = await session.execute(
        select(Record.staff_id, Record.starts_at, Record.ends_at).where(
            Record.staff_id.in_(staff_ids),
            Record.status == RECORD_ACTIVE,
            Record.starts_at >= start - timedelta(seconds=MAX_RECORD_SECONDS),
            Record.starts_at < end,
            Record.ends_at > start,
        )
    )
    result: dict[int, list[Interval]] = defaultdict(list)
    for staff_id, starts_at, ends_at in rows:
        result[staff_id].append((starts_at, ends_at))
    return result
