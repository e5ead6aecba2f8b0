"""Availability rules: who can be booked when, for which services, at one location."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from openbooking.availability import repository, slots
from openbooking.availability.slots import DaySchedule, MemberDay, Rules
from openbooking.catalog.repository import location_or_404
from openbooking.kit.clock import now as clock_now
from openbooking.kit.clock import zone
from openbooking.kit.errors import InvalidParameter, NotFound

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from zoneinfo import ZoneInfo

    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.availability.slots import Interval
    from openbooking.models import Location, Position, Staff

MAX_RANGE_DAYS = 400
# Dates outside these years are refused before any arithmetic could overflow.
FIRST_YEAR, LAST_YEAR = 1970, 2200
# book_dates reads the records of this many members first (in display order), then of twice as
# many for the days still undecided, and so on: usually the first members settle every day.
FIRST_BATCH = 4

Nearest = tuple[date, list[datetime]]  # a day and its free starts


@dataclass(slots=True)
class Member:
    staff: Staff
    position: Position | None
    lengths: dict[int, int]  # service id -> seconds

    def length(self, service_ids: Sequence[int]) -> int | None:
        """Seconds for the chosen services back to back; without services, the shortest one."""
        if service_ids:
            if not all(service_id in self.lengths for service_id in service_ids):
                return None
            return sum(self.lengths[service_id] for service_id in service_ids)
        return min(self.lengths.values(), default=None)


@dataclass(slots=True)
class Availability:
    """Everything needed to answer for some members over some days, loaded in a few queries."""

    rules: Rules
    now: datetime
    members: list[Member]
    service_ids: list[int]
    member_missing: bool = False  # a member was asked for and is not bookable here
    schedules: repository.Schedules = field(default_factory=repository.Schedules)
    busy: dict[int, list[Interval]] = field(default_factory=dict)

    def require_member(self) -> None:
        if self.member_missing:
            raise NotFound("Team member not found.")

    def schedule(self, member: Member, day: date) -> DaySchedule | None:
        staff_id = member.staff.id
        return slots.resolve_day(
            day,
            self.schedules.weekly[staff_id],
            self.schedules.exceptions[staff_id],
            self.schedules.days_off[staff_id],
        )

    def member_day(self, member: Member, day: date) -> MemberDay:
        return slots.member_day(
            day, self.schedule(member, day), self.busy.get(member.staff.id, ()), self.rules.zone
        )

    def length(self, member: Member) -> int:
        length = member.length(self.service_ids)
        assert length is not None  # members are filtered on load
        return length

    def free(self, member: Member, day: date) -> list[datetime]:
        schedule = self.schedule(member, day)
        if schedule is None:
            return []
        member_day = self.member_day(member, day)
        return slots.free_slots(schedule, member_day, self.length(member), self.now, self.rules)

    def has_free(self, member: Member, day: date) -> bool:
        schedule = self.schedule(member, day)
        if schedule is None:
            return False
        member_day = self.member_day(member, day)
        length = self.length(member)
        return any(
            slots.is_bookable(start, length, member_day, self.now, self.rules)
            for start in slots.grid(day, schedule, self.rules)
        )

    def is_bookable(self, member: Member, start: datetime) -> bool:
        return self.is_bookable_for(member, start, self.length(member))

    def is_bookable_for(self, member: Member, start: datetime, length: int) -> bool:
        day = start.astimezone(self.rules.zone).date()
        return slots.is_bookable(start, length, self.member_day(member, day), self.now, self.rules)

    def today(self) -> date:
        return self.now.astimezone(self.rules.zone).date()

    def last_day(self) -> date:
        return (
            (self.now + timedelta(days=self.rules.horizon_days)).astimezone(self.rules.zone).date()
        )

    def days(self, first: date, last: date) -> Iterator[date]:
        day = max(first, self.today())
        last = min(last, self.last_day())
        while day <= last:
            yield day
            day += timedelta(days=1)


async def team(
    session: AsyncSession, location_id: int, staff_id: int, service_ids: list[int]
) -> Availability:
    """The location's rules and the members able to do all `service_ids` (one member, or any
    when `staff_id` is 0), without schedules or records yet. A missing location is a 404 here; a
    missing member only at `require_member`, so that callers check their parameters first."""
    found = await repository.team(session, location_id, staff_id or None)
    if found is None:
        raise NotFound("Location not found.")
    rules = Rules(
        zone=zone(found.timezone),
        step=found.slot_step_seconds,
        min_notice=found.min_notice_seconds,
        horizon_days=found.horizon_days,
    )
    members = [Member(staff, position, lengths) for staff, position, lengths in found.members]
    return Availability(
        rules=rules,
        now=clock_now(),
        members=[member for member in members if member.length(service_ids) is not None],
        service_ids=service_ids,
        member_missing=bool(staff_id) and not found.members,
    )


async def load_days(
    session: AsyncSession, availability: Availability, first: date, last: date
) -> None:
    """The members' schedules and records over `first` to `last` (local dates, inclusive)."""
    ids = [member.staff.id for member in availability.members]
    availability.schedules, availability.busy = await repository.schedules_and_records(
        session, ids, first, last
    )


async def load(
    session: AsyncSession,
    location_id: int,
    staff_id: int,
    service_ids: list[int],
    days: tuple[date, date] | None = None,
) -> Availability:
    """`team`, checked, with schedules and records over `days` (first and last local date)."""
    availability = await team(session, location_id, staff_id, service_ids)
    availability.require_member()
    if days is not None:
        await load_days(session, availability, *days)
    return availability


def parse_date(value: str, field_name: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError(value)
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InvalidParameter(field_name, "expected a date as YYYY-MM-DD") from None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise InvalidParameter(field_name, f"the year must be {FIRST_YEAR} to {LAST_YEAR}")
    return parsed


def parse_moment(value: str, field_name: str, local: ZoneInfo) -> datetime:
    """A filter time: `YYYY-MM-DDTHH:MM[:SS]` in the location's zone, ISO with an offset, or a
    Unix timestamp. A local time that does not exist that day is refused."""
    text = value.strip()
    try:
        if text.isascii() and text.isdigit() and len(text) <= 12:
            moment = datetime.fromtimestamp(int(text), UTC)
        elif len(text) > 40:
            raise ValueError(text)
        else:
            moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except (ValueError, OverflowError, OSError):
        raise InvalidParameter(field_name, "expected YYYY-MM-DDTHH:MM") from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise InvalidParameter(field_name, f"the year must be {FIRST_YEAR} to {LAST_YEAR}")
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    instants = slots.local_instants(moment, local)
    if not instants:
        raise InvalidParameter(field_name, "that local time does not exist (clock change)")
    return instants[0]


def slot_view(start: datetime, length: int, rules: Rules) -> dict[str, Any]:
    local = start.astimezone(rules.zone)
    return {
        "time": local.strftime("%H:%M"),
        "seance_length": length,
        "sum_length": length,
        "datetime": local.isoformat(),
    }


def times(availability: Availability, day: date) -> list[dict[str, Any]]:
    """Free slots on `day`; for several members, the union (first member by weight wins)."""
    found: dict[datetime, dict[str, Any]] = {}
    for member in availability.members:
        for start in availability.free(member, day):
            if start not in found:
                found[start] = slot_view(start, availability.length(member), availability.rules)
    return [found[start] for start in sorted(found)]


def nearest(availability: Availability, member: Member, first: date) -> Nearest | None:
    for day in availability.days(first, availability.last_day()):
        free = availability.free(member, day)
        if free:
            return day, free
    return None


def date_window(
    today: date, on: str | None, date_from: str | None, date_to: str | None, horizon_end: date
) -> tuple[date, date]:
    """`date_from`+`date_to` win; else the month of `date`; else today to the horizon."""
    if date_from or date_to:
        if not (date_from and date_to):
            raise InvalidParameter("date_to" if date_from else "date_from", "give both or neither")
        first, last = parse_date(date_from, "date_from"), parse_date(date_to, "date_to")
        if last < first:
            raise InvalidParameter("date_to", "must not be before date_from")
    elif on:
        anchor = parse_date(on, "date")
        first = anchor.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    else:
        first, last = today, max(today, horizon_end)
    if (last - first).days > MAX_RANGE_DAYS:
        raise InvalidParameter("date_to", f"a range covers at most {MAX_RANGE_DAYS} days")
    return first, last


async def book_times(
    session: AsyncSession, location_id: int, staff_id: int, day: date, service_ids: list[int]
) -> list[dict[str, Any]]:
    availability = await load(session, location_id, staff_id, service_ids)
    if day not in set(availability.days(day, day)):
        return []
    await load_days(session, availability, day, day)
    return times(availability, day)


async def book_dates(
    session: AsyncSession,
    location_id: int,
    staff_id: int,
    service_ids: list[int],
    window: tuple[str | None, str | None, str | None],
) -> tuple[list[date], list[date]]:
    """(working dates, dates with at least one free slot) in the requested window."""
    availability = await team(session, location_id, staff_id, service_ids)
    first, last = date_window(availability.today(), *window, availability.last_day())
    availability.require_member()
    members = availability.members
    if members:
        ids = [member.staff.id for member in members]
        availability.schedules = await repository.schedules(session, ids, first, last)
    working: list[date] = []
    day = first
    while day <= last:
        if any(availability.schedule(member, day) for member in members):
            working.append(day)
        day += timedelta(days=1)
    return working, await bookable_days(session, availability, first, last)


async def bookable_days(
    session: AsyncSession, availability: Availability, first: date, last: date
) -> list[date]:
    """The days from `first` to `last` on which some member has a free slot.

    One free member settles a day, so records are read for a batch of members at a time, in
    display order, and only over the days the batches before left undecided.
    """
    undecided = list(availability.days(first, last))
    bookable: list[date] = []
    done, size = 0, FIRST_BATCH
    while undecided and done < len(availability.members):
        batch = availability.members[done : done + size]
        ids = [member.staff.id for member in batch]
        availability.busy.update(await repository.busy(session, ids, undecided[0], undecided[-1]))
        left = []
        for day in undecided:
            if any(availability.has_free(member, day) for member in batch):
                bookable.append(day)
            else:
                left.append(day)
        undecided = left
        done, size = done + size, size * 2
    return sorted(bookable)


async def book_staff(
    session: AsyncSession,
    location_id: int,
    service_ids: list[int],
    at: str | None,
    *,
    seances: bool,
) -> tuple[Location, Availability, list[tuple[Member, Nearest | None]]]:
    """Members who do all `service_ids` (and are free at `at`), each with their nearest free day."""
    location = await location_or_404(session, location_id)
    availability = await team(session, location_id, 0, service_ids)
    rules = availability.rules
    moment = parse_moment(at, "datetime", rules.zone) if at else None
    today = availability.today()
    first = min(today, moment.astimezone(rules.zone).date()) if moment else today
    await load_days(session, availability, first, availability.last_day())
    result = []
    for member in availability.members:
        if moment is not None and not availability.is_bookable(member, moment):
            continue
        found = nearest(availability, member, today)
        if found is not None and not seances:
            found = (found[0], [])
        result.append((member, found))
    return location, availability, result


async def book_staff_seances(
    session: AsyncSession, location_id: int, staff_id: int, service_ids: list[int], at: str | None
) -> dict[str, Any]:
    """The nearest day from `at` (or today) with free time, and its slots."""
    availability = await team(session, location_id, staff_id, service_ids)
    rules = availability.rules
    start_day = availability.today()
    if at:
        start_day = max(
            start_day, parse_moment(at, "datetime", rules.zone).astimezone(rules.zone).date()
        )
    availability.require_member()
    last = availability.last_day()
    await load_days(session, availability, start_day, last)
    for day in availability.days(start_day, last):
        found = times(availability, day)
        if found:
            return {"seance_date": day.isoformat(), "seances": found}
    return {"seance_date": "", "seances": []}


async def bookable_services(
    session: AsyncSession,
    location_id: int,
    staff_id: int,
    service_ids: list[int],
    at: str | None,
    *,
    candidates: Sequence[int],
) -> set[int]:
    """Of `candidates`, those that can join `service_ids` with the member (or anyone), at `at`."""
    availability = await team(session, location_id, staff_id, [])
    rules = availability.rules
    moment = parse_moment(at, "datetime", rules.zone) if at else None
    availability.require_member()
    if moment is not None:
        day = moment.astimezone(rules.zone).date()
        await load_days(session, availability, day, day)
    result: set[int] = set()
    for service_id in candidates:
        wanted = [*dict.fromkeys([*service_ids, service_id])]
        for member in availability.members:
            length = member.length(wanted)
            if length is None:
                continue
            if moment is None or availability.is_bookable_for(member, moment, length):
                result.add(service_id)
                break
    return result


async def next_slot(session: AsyncSession, location_id: int) -> str:
    """The earliest free start at the location with anyone, for anything ("" when none)."""
    data = await book_staff_seances(session, location_id, 0, [], None)
    return str(data["seances"][0]["datetime"]) if data["seances"] else ""
