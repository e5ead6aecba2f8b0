"""The availability engine: pure functions, no I/O.

Listing free slots and validating a booking both go through `is_bookable`, so the two can never
disagree. Schedules are local wall-clock seconds from midnight; everything else is aware UTC.

Daylight-saving rules: a wall-clock time that does not exist on a day (spring forward) is never a
slot; one that exists twice (fall back) gives two slots, one per real instant, each with its own
UTC offset. A working interval covers exactly the instants whose local wall-clock time lies
inside it, so its real length grows or shrinks with the transition.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from openbooking.kit.clock import local_instants

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from zoneinfo import ZoneInfo

DAY_SECONDS = 86400
Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class DaySchedule:
    """A member's working day in wall-clock seconds: `hours` minus `breaks`."""

    hours: tuple[tuple[int, int], ...]
    breaks: tuple[tuple[int, int], ...] = ()

    def working(self) -> list[tuple[int, int]]:
        """The hours with the breaks cut out, sorted and merged."""
        pieces = sorted(self.hours)
        for b_start, b_end in self.breaks:
            cut: list[tuple[int, int]] = []
            for start, end in pieces:
                if b_end <= start or end <= b_start:
                    cut.append((start, end))
                    continue
                if start < b_start:
                    cut.append((start, b_start))
                if b_end < end:
                    cut.append((b_end, end))
            pieces = cut
        merged: list[tuple[int, int]] = []
        for start, end in sorted(pieces):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            elif start < end:
                merged.append((start, end))
        return merged


@dataclass(frozen=True, slots=True)
class Rules:
    """A location's booking rules."""

    zone: ZoneInfo
    step: int = 900
    min_notice: int = 0
    horizon_days: int = 60


@dataclass(frozen=True, slots=True)
class MemberDay:
    """What `is_bookable` needs about one member on one local date."""

    day: date
    working: tuple[Interval, ...]
    busy: tuple[Interval, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "busy", tuple(sorted(self.busy)))


def resolve_day(
    day: date,
    weekly: dict[int, DaySchedule],
    exceptions: dict[date, DaySchedule],
    days_off: set[date] | frozenset[date],
) -> DaySchedule | None:
    """The schedule in force on `day`: a day off wins, then a dated exception, then the week."""
    if day in days_off:
        return None
    if day in exceptions:
        return exceptions[day]
    return weekly.get(day.weekday())


def _wall(day: date, seconds: int) -> datetime:
    return datetime.combine(day, time()) + timedelta(seconds=seconds)


def _transition_after(lo: datetime, hi: datetime, zone: ZoneInfo) -> datetime:
    """The first instant in (lo, hi] with hi's UTC offset (to the second)."""
    target = hi.astimezone(zone).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(zone).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return hi


def boundary(day: date, seconds: int, zone: ZoneInfo) -> datetime:
    """The first instant whose wall-clock reading on `day` is at or after `seconds`: a repeated
    time maps to its first occurrence, a time in a spring-forward gap to the transition itself."""
    naive = _wall(day, seconds)
    instants = local_instants(naive, zone)
    if instants:
        return instants[0]
    before = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return _transition_after(min(before, after), max(before, after), zone)


def _segments(day: date, zone: ZoneInfo) -> list[tuple[datetime, datetime, timedelta]]:
    """The local day as stretches of constant UTC offset: one, or two on a transition day."""
    start, end = boundary(day, 0, zone), boundary(day + timedelta(days=1), 0, zone)
    first = start.astimezone(zone).utcoffset()
    last = (end - timedelta(seconds=1)).astimezone(zone).utcoffset()
    assert first is not None
    assert last is not None
    if first == last:
        return [(start, end, first)]
    change = _transition_after(start, end - timedelta(seconds=1), zone)
    return [(start, change, first), (change, end, last)]


# Pure, and asked for again by every request about the same days.
@lru_cache(maxsize=4096)
def working_intervals(
    day: date, schedule: DaySchedule | None, zone: ZoneInfo
) -> tuple[Interval, ...]:
    """The instants whose local wall-clock time on `day` lies in a working interval.

    Each stretch of constant offset maps a wall-clock interval to one UTC interval; pieces that
    touch across a spring-forward gap are joined, the two passes of a fall-back hour are not.
    """
    if schedule is None:
        return ()
    pieces: list[Interval] = []
    midnight = datetime.combine(day, time(), UTC)
    for seg_start, seg_end, offset in _segments(day, zone):
        for start, end in schedule.working():
            low = max(seg_start, midnight + timedelta(seconds=start) - offset)
            high = min(seg_end, midnight + timedelta(seconds=end) - offset)
            if low < high:
                pieces.append((low, high))
    merged: list[Interval] = []
    for low, high in sorted(pieces):
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def member_day(
    day: date, schedule: DaySchedule | None, busy: Iterable[Interval], zone: ZoneInfo
) -> MemberDay:
    return MemberDay(day=day, working=working_intervals(day, schedule, zone), busy=tuple(busy))


# Pure, and asked for again for every member with the same hours on the same day; at most a
# few MB even with a 5-minute step.
@lru_cache(maxsize=512)
def grid(day: date, schedule: DaySchedule | None, rules: Rules) -> tuple[datetime, ...]:
    """Every instant on `day` whose wall-clock time is a multiple of the step inside the hours."""
    if schedule is None:
        return ()
    starts: list[datetime] = []
    for start, end in schedule.working():
        first = -(-start // rules.step) * rules.step
        for seconds in range(first, end, rules.step):
            starts.extend(local_instants(_wall(day, seconds), rules.zone))
    return tuple(sorted(set(starts)))


def on_grid(instant: datetime, day: date, rules: Rules) -> bool:
    local = instant.astimezone(rules.zone)
    if local.date() != day:
        return False
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    return local.microsecond == 0 and seconds % rules.step == 0


def is_bookable(
    start: datetime, length: int, member: MemberDay, now: datetime, rules: Rules
) -> bool:
    """Whether `length` seconds from `start` can be booked with this member.

    The start must lie on the location's grid, inside the notice/horizon window, and the whole
    visit inside one working interval without touching a busy interval.
    """
    if length <= 0 or not on_grid(start, member.day, rules):
        return False
    if start < now + timedelta(seconds=rules.min_notice):
        return False
    if start >= now + timedelta(days=rules.horizon_days):
        return False
    end = start + timedelta(seconds=length)
    if not any(w_start <= start and end <= w_end for w_start, w_end in member.working):
        return False
    return not overlaps(member.busy, start, end)


def overlaps(busy: Sequence[Interval], start: datetime, end: datetime) -> bool:
    """Whether any interval of the sorted `busy` intersects [start, end)."""
    index = bisect_left(busy, (end,))  # intervals starting before `end`
    return any(b_end > start for _, b_end in busy[:index])


def free_slots(
    schedule: DaySchedule | None, member: MemberDay, length: int, now: datetime, rules: Rules
) -> list[datetime]:
    """All grid starts on the member's day that `is_bookable` accepts, in time order."""
    return [
        start
        for start in grid(member.day, schedule, rules)
        if is_bookable(start, length, member, now, rules)
    ]


# The month view asks of every member-day whether one start fits, and book_times lists them all.
# Instead of testing every grid start against every busy interval (`is_bookable`), these walk the
# free gaps of the day once: a start fits exactly when it lies on the grid, inside the notice and
# horizon window, and the visit ends inside one gap (a working interval minus the busy ones).
# tests/availability/test_slots.py checks them against `free_slots`.


def free_gaps(working: Sequence[Interval], busy: Sequence[Interval]) -> list[Interval]:
    """The working intervals minus the busy ones (sorted by start, each ending at or after its
    start; they may overlap): the stretches where a visit touches no busy interval. An empty
    busy interval at an instant splits a gap there: a visit may end or start at it, not run
    across it (as `overlaps` has it)."""
    gaps: list[Interval] = []
    for w_start, w_end in working:
        cursor = w_start
        for b_start, b_end in busy:
            if b_start >= w_end:
                break
            if b_end <= cursor:
                continue
            if b_start > cursor:
                gaps.append((cursor, b_start))
            cursor = b_end
        if cursor < w_end:
            gaps.append((cursor, w_end))
    return gaps


def gap_starts(
    starts: Sequence[datetime],
    gaps: Sequence[Interval],
    length: int,
    earliest: datetime,
    latest: datetime,
    *,
    first_only: bool = False,
) -> list[datetime]:
    """The grid `starts` (sorted) at or after `earliest` and before `latest` whose visit of
    `length` seconds fits in one of the sorted, disjoint `gaps`; only the first when
    `first_only`."""
    found: list[datetime] = []
    span = timedelta(seconds=length)
    for g_start, g_end in gaps:
        index = bisect_left(starts, max(g_start, earliest))
        last = g_end - span
        while index < len(starts):
            start = starts[index]
            if start > last or start >= latest:
                break
            found.append(start)
            if first_only:
                return found
            index += 1
    return found


def has_start(
    starts: Sequence[datetime],
    working: Sequence[Interval],
    busy: Sequence[Interval],
    span: timedelta,
    *,
    earliest: datetime,
    latest: datetime,
) -> bool:
    """Whether `gap_starts(starts, free_gaps(working, busy), …, first_only=True)` finds a start,
    without building the gaps: it stops at the first gap whose first start fits (the month view
    only asks whether a day has one)."""
    count = len(starts)
    for w_start, w_end in working:
        cursor = w_start
        for b_start, b_end in busy:
            if b_start >= w_end:
                break
            if b_end <= cursor:
                continue
            if b_start > cursor and b_start - cursor >= span:
                index = bisect_left(starts, max(cursor, earliest))
                if index < count and starts[index] <= b_start - span and starts[index] < latest:
                    return True
            cursor = b_end
        if w_end - cursor >= span:
            index = bisect_left(starts, max(cursor, earliest))
            if index < count and starts[index] <= w_end - span and starts[index] < latest:
                return True
    return False
