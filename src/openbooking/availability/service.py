"""Availability rules: who can be booked when, for which services, at one location."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from operator import sub
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from openbooking.availability import cache, repository, slots
from openbooking.availability.slots import DaySchedule, MemberDay, Rules
from openbooking.catalog import service as catalog
from openbooking.kit import metrics
from openbooking.kit.clock import instant, zone
from openbooking.kit.clock import now as clock_now
from openbooking.kit.errors import ApiError, InvalidParameter, NotFound
from openbooking.reviews import service as reviews

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.availability.repository import Around, Wanted
    from openbooking.availability.slots import Interval
    from openbooking.catalog.schemas import BookServicesQuery, CompaniesQuery
    from openbooking.kit.envelope import Dialect
    from openbooking.models import Location

MAX_RANGE_DAYS = 400
# book_dates reads, with the catalog version, the records of the first members in display order
# that between them work every working day of the window (`Availability.covering`; at most
# this many), then of twice as many for the days still undecided, and so on: usually the first
# batch settles every day, in one read. Days off alone then never cost a second read.
MAX_FIRST_BATCH = 8

Nearest = tuple[date, list[datetime]]  # a day and its free starts
NO_DAYS: dict[int, DaySchedule] = {}
NO_DATES: dict[date, DaySchedule] = {}


EMPTY: list[Interval] = []


@dataclass(frozen=True, slots=True)
class _SortedBusy:
    """A member's busy intervals sorted by start, to find those around a day by bisection."""

    source: list[Interval]  # the list this was made from (kept: its identity is the check)
    count: int
    intervals: list[Interval]
    starts: list[datetime]
    longest: timedelta
    valid: bool  # no interval ends before it starts

    @classmethod
    def of(cls, source: list[Interval]) -> _SortedBusy:
        intervals = sorted(source)
        starts = [start for start, _ in intervals]
        lengths = list(map(sub, [end for _, end in intervals], starts))
        longest = max(lengths, default=timedelta())
        valid = min(lengths, default=timedelta()) >= timedelta()
        return cls(source, len(source), intervals, starts, longest, valid)

    def around(self, first: datetime, last: datetime) -> list[Interval]:
        """The intervals that may touch [first, last]: starting before `last` and late enough
        to end after `first`."""
        low = bisect_left(self.starts, first - self.longest)
        high = bisect_right(self.starts, last)
        return self.intervals[low:high]


# A team's busy time read by earlier requests: by (member id, first and last date), the counter
# of the member's bucket read with it and the intervals.
KeptBusy = dict[tuple[int, date, date], tuple[int, _SortedBusy]]


@dataclass(frozen=True, slots=True)
class Member:
    staff: repository.StaffRow
    position: repository.PositionRow | None
    lengths: Mapping[int, int]  # service id -> seconds

    def length(self, service_ids: Sequence[int]) -> int | None:
        """Seconds for the chosen services back to back; without services, the shortest one."""
        if service_ids:
            if not all(service_id in self.lengths for service_id in service_ids):
                return None
            return sum(self.lengths[service_id] for service_id in service_ids)
        return min(self.lengths.values(), default=None)


@dataclass(frozen=True, slots=True)
class Team:
    """A location's rules, its bookable members in display order and all their schedules, as
    read at catalog `version`. Cached and shared by the requests of a process: never changed,
    but for `selections`, filled as requests ask."""

    version: int | None
    rules: Rules
    members: tuple[Member, ...]
    schedules: repository.Schedules
    # Which members a request may pick, by (staff_id, service ids): the same few questions come
    # again and again (`_availability`). The only part that changes, and only by being filled.
    selections: dict[tuple[int, tuple[int, ...]], Selection] = field(
        default_factory=dict, compare=False, repr=False
    )
    # Each member-day's schedule, working intervals and grid (`Availability.plan`): the same
    # days are asked about request after request. Filled as asked, up to `PLANS` entries.
    plans: dict[tuple[int, date], DayPlan] = field(default_factory=dict, compare=False, repr=False)
    # Busy time read by earlier requests, by (member id, first and last date asked for), with
    # the counter of the member's bucket read with it (`BusyMemory`). Filled as read, up
    # to `KEPT_BUSY` entries; an entry is used only while its counter is the current one.
    busy: KeptBusy = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Selection:
    """The members able to do some services (one member, or all), with their lengths."""

    members: tuple[Member, ...]
    lengths: dict[int, int]  # member id -> seconds for the services
    member_missing: bool
    # The days on which one of `members` works, by window (first and last day): the month view
    # asks this of the same month request after request. Filled as asked, up to `WINDOWS`.
    working: dict[tuple[date, date], tuple[date, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # How many members, in display order, work every working day of a window (the same).
    covering: dict[tuple[date, date], int] = field(default_factory=dict, compare=False, repr=False)


SELECTIONS = 256  # remembered per team (any combination of services may be asked for)
WINDOWS = 64  # working days remembered per selection, by window
PLANS = 32_768  # member-days remembered per team (50 members over 400 days would be 20,000)
KEPT_BUSY = 1_024  # members' busy time kept per team, by window (starts over when full): a
# month of one member's appointments is a few kB, at most about 20 MB per team


@dataclass(slots=True)
class BusyMemory:
    """A request's way to the busy time its team kept (`Team.busy`) from earlier requests.

    What the request reads is kept there, sorted, with the counter of the member's bucket read
    in the same statement (`repository.counted_busy`); what is kept is used while the counter
    this request read is still that one. Only for a request that holds no transaction: it
    reads only what is committed, and never its own uncommitted writes."""

    kept: KeptBusy
    counters: repository.Counters = field(default_factory=dict)  # read by this request

    async def read(
        self,
        session: AsyncSession,
        wanted: Wanted,
        *,
        with_version: bool = False,
        count: Sequence[int] = (),
    ) -> tuple[repository.Busy, dict[int, _SortedBusy], int | None]:
        """`repository.busy_time` for `wanted`, with the catalog version when `with_version`
        (else None). One statement reads the rows of the members nothing is kept for, with the
        counters of all `wanted`'s members and of those in `count` (members a later read of
        this request may want); none is needed when this request read every counter already
        and nothing more is wanted. A second statement, only when a counter moved, reads the
        rows of the members it counts."""
        staff_ids, first, last = wanted
        kept, counters, bucket = self.kept, self.counters, repository.bucket
        hits = {
            staff_id: found
            for staff_id in staff_ids
            if (found := kept.get((staff_id, first, last))) is not None
        }
        unread = [staff_id for staff_id in staff_ids if staff_id not in hits]
        version: int | None = None
        busy: repository.Busy = {}
        if with_version or unread or any(bucket(staff_id) not in counters for staff_id in hits):
            version, busy, read = await repository.counted_busy(
                session, ([*staff_ids, *count], first, last), unread, with_version=with_version
            )
            counters.update(read)
        stale = [
            staff_id
            for staff_id, (count_then, _) in hits.items()
            if counters.get(bucket(staff_id)) != count_then
        ]
        if stale:
            _, more, read = await repository.counted_busy(
                session, (stale, first, last), stale, with_version=False
            )
            busy.update(more)
            counters.update(read)
            unread.extend(stale)
        sorted_busy: dict[int, _SortedBusy] = {}
        for staff_id in unread:
            entry = sorted_busy[staff_id] = _SortedBusy.of(busy.get(staff_id, EMPTY))
            count_now = counters.get(bucket(staff_id))
            if count_now is not None:
                if len(kept) >= KEPT_BUSY:
                    kept.clear()
                kept[(staff_id, first, last)] = (count_now, entry)
        for staff_id, (_, entry) in hits.items():
            if staff_id not in sorted_busy:
                busy[staff_id] = entry.source
                sorted_busy[staff_id] = entry
        metrics.count(metrics.BUSY_TIME_CACHE, "read", amount=len(unread))
        metrics.count(metrics.BUSY_TIME_CACHE, "kept", amount=len(hits) - len(stale))
        return busy, sorted_busy, version


@dataclass(frozen=True, slots=True)
class DayPlan:
    """What a member's schedule makes of a day, whatever is booked: the schedule in force, its
    working instants (`slots.working_intervals`) and its grid of starts (`slots.grid`)."""

    schedule: DaySchedule | None
    working: tuple[Interval, ...]
    grid: tuple[datetime, ...]


@dataclass(slots=True)
class Availability:
    """Everything needed to answer for some members over some days: the team (shared, read-only)
    and this request's own records."""

    rules: Rules
    now: datetime
    members: list[Member]
    service_ids: list[int]
    member_missing: bool = False  # a member was asked for and is not bookable here
    schedules: repository.Schedules = field(default_factory=repository.Schedules)
    busy: dict[int, list[Interval]] = field(default_factory=dict)
    # Each member's busy intervals sorted once, for `free` and `has_free`; redone when the list
    # in `busy` is replaced or grows (bookings add the appointments planned before).
    _sorted: dict[int, _SortedBusy] = field(default_factory=dict)
    # Each member's length for `service_ids`, as `Member.length` gives it.
    _lengths: Mapping[int, int] = field(default_factory=dict)
    # Member-days' plans: the team's, shared by its requests (`Team.plans`).
    _plans: dict[tuple[int, date], DayPlan] = field(default_factory=dict)
    # Working days by window: the selection's, shared by its requests (`Selection.working`).
    _working: dict[tuple[date, date], tuple[date, ...]] = field(default_factory=dict)
    # How many members cover a window: the selection's (`Selection.covering`).
    _covering: dict[tuple[date, date], int] = field(default_factory=dict)
    _today: date | None = None  # `today()` and `last_day()`, once worked out
    _last_day: date | None = None
    # The team's busy time read by earlier requests (`Team.busy`), when this request may use it.
    _memory: BusyMemory | None = None
    # The catalog version read with the busy time, which the team is current at (None: no
    # version row; set by `team`).
    version: int | None = None

    def require_member(self) -> None:
        if self.member_missing:
            raise NotFound("Team member not found.")

    def records(self, first: date, last: date, members: Sequence[Member] | None = None) -> Wanted:
        """What to read for `members` (default: all of them) over `first` to `last`."""
        chosen = self.members if members is None else members
        return [member.staff.id for member in chosen], first, last

    def around(self, start: datetime) -> Around:
        """What to read for a visit from `start` with any of the members: the busy time it
        could touch, up to the longest of their lengths (a booking tells only that overlap)."""
        longest = max(map(self.length, self.members), default=0)
        return (
            [member.staff.id for member in self.members],
            start,
            start + timedelta(seconds=max(longest, 0)),
        )

    def schedule(self, member: Member, day: date) -> DaySchedule | None:
        return self.plan(member, day).schedule

    def plan(self, member: Member, day: date) -> DayPlan:
        """The member's schedule on `day` and what it makes of the day (remembered per team:
        the team's schedules never change, a new catalog version is a new team)."""
        key = (member.staff.id, day)
        found = self._plans.get(key)
        if found is None:
            staff_id = member.staff.id
            schedule = slots.resolve_day(
                day,
                self.schedules.weekly.get(staff_id, NO_DAYS),
                self.schedules.exceptions.get(staff_id, NO_DATES),
                self.schedules.days_off.get(staff_id, frozenset()),
            )
            if schedule is None:
                found = DayPlan(None, (), ())
            else:
                found = DayPlan(
                    schedule,
                    slots.working_intervals(day, schedule, self.rules.zone),
                    slots.grid(day, schedule, self.rules),
                )
            if len(self._plans) < PLANS:
                self._plans[key] = found
        return found

    def working_days(self, first: date, last: date) -> list[date]:
        """The days from `first` to `last` on which one of the members works (whatever is
        booked: remembered with the members, which never change for a team)."""
        key = (first, last)
        found = self._working.get(key)
        if found is None:
            days = []
            day = first
            while day <= last:
                if any(self.schedule(member, day) for member in self.members):
                    days.append(day)
                day += timedelta(days=1)
            found = tuple(days)
            if len(self._working) < WINDOWS:
                self._working[key] = found
        return list(found)

    def covering(self, first: date, last: date) -> int:
        """How many members, in display order, it takes for one of them to work on each day
        from `first` to `last` that any member works (at most `MAX_FIRST_BATCH`; remembered
        like `working_days`)."""
        key = (first, last)
        found = self._covering.get(key)
        if found is None:
            left = set(self.working_days(first, last))
            found = 0
            for member in self.members[:MAX_FIRST_BATCH]:
                if not left:
                    break
                found += 1
                left = {day for day in left if self.schedule(member, day) is None}
            found = max(found, 1)
            if len(self._covering) < WINDOWS:
                self._covering[key] = found
        return found

    def member_day(self, member: Member, day: date) -> MemberDay:
        return MemberDay(
            day, self.plan(member, day).working, tuple(self.busy.get(member.staff.id, ()))
        )

    def length(self, member: Member) -> int:
        length = self._lengths.get(member.staff.id)
        if length is None:
            length = member.length(self.service_ids)
        assert length is not None  # members are filtered on load
        return length

    def free(self, member: Member, day: date) -> list[datetime]:
        """The member's free starts on `day`: what `slots.free_slots` gives, found by walking
        the day's free gaps instead of testing every grid start."""
        return self._free(member, day, first_only=False)

    def has_free(self, member: Member, day: date) -> bool:
        return bool(self._free(member, day, first_only=True))

    def free_days(self, member: Member, days: Sequence[date]) -> set[date]:
        """Those of `days` on which the member has a free start: `has_free` for each day, in
        one pass that stops at the first start that fits (the month view asks this of about 40
        member-days per request, and a call per day cost most of its own time)."""
        length = self.length(member)
        busy = self._busy_sorted(member.staff.id)
        if length <= 0 or busy is None:
            return {day for day in days if self.has_free(member, day)}
        span = timedelta(seconds=length)
        earliest = self.now + timedelta(seconds=self.rules.min_notice)
        latest = self.now + timedelta(days=self.rules.horizon_days)
        starts, intervals, longest = busy.starts, busy.intervals, busy.longest
        staff_id, plans = member.staff.id, self._plans
        found: set[date] = set()
        for day in days:
            plan = plans.get((staff_id, day)) or self.plan(member, day)
            working, grid = plan.working, plan.grid
            if not working or not grid:
                continue
            low = bisect_left(starts, working[0][0] - longest)
            high = bisect_right(starts, working[-1][1])
            if slots.has_start(
                grid, working, intervals[low:high], span, earliest=earliest, latest=latest
            ):
                found.add(day)
        return found

    def _free(self, member: Member, day: date, *, first_only: bool) -> list[datetime]:
        plan = self.plan(member, day)
        schedule, working = plan.schedule, plan.working
        if schedule is None or not working:
            return []
        length = self.length(member)
        if length <= 0:
            return []
        busy = self._busy_sorted(member.staff.id)
        if busy is None:  # an interval ending before it starts: the general test
            member_day = self.member_day(member, day)
            found = slots.free_slots(schedule, member_day, length, self.now, self.rules)
            return found[:1] if first_only else found
        gaps = slots.free_gaps(working, busy.around(working[0][0], working[-1][1]))
        return slots.gap_starts(
            plan.grid,
            gaps,
            length,
            self.now + timedelta(seconds=self.rules.min_notice),
            self.now + timedelta(days=self.rules.horizon_days),
            first_only=first_only,
        )

    def add_busy(self, busy: repository.Busy, sorted_busy: Mapping[int, _SortedBusy]) -> None:
        """Take more members' busy time, some of it sorted already (`BusyMemory.read`)."""
        self.busy.update(busy)
        self._sorted.update(sorted_busy)

    async def read_busy(self, session: AsyncSession, wanted: Wanted) -> None:
        """Read and take the busy time `wanted` names, from what the team kept when it may."""
        if self._memory is None:
            self.add_busy(await repository.busy_time(session, wanted), {})
        else:
            busy, sorted_busy, _ = await self._memory.read(session, wanted)
            self.add_busy(busy, sorted_busy)

    def _busy_sorted(self, staff_id: int) -> _SortedBusy | None:
        intervals = self.busy.get(staff_id, EMPTY)
        known = self._sorted.get(staff_id)
        if known is None or known.source is not intervals or known.count != len(intervals):
            known = _SortedBusy.of(intervals)
            self._sorted[staff_id] = known
        return known if known.valid else None

    def is_bookable(self, member: Member, start: datetime) -> bool:
        return self.is_bookable_for(member, start, self.length(member))

    def is_bookable_for(self, member: Member, start: datetime, length: int) -> bool:
        day = start.astimezone(self.rules.zone).date()
        return slots.is_bookable(start, length, self.member_day(member, day), self.now, self.rules)

    def today(self) -> date:
        if self._today is None:  # `now` never changes: asked several times per request
            self._today = self.now.astimezone(self.rules.zone).date()
        return self._today

    def last_day(self) -> date:
        if self._last_day is None:
            later = self.now + timedelta(days=self.rules.horizon_days)
            self._last_day = later.astimezone(self.rules.zone).date()
        return self._last_day

    def day_list(self, first: date, last: date) -> list[date]:
        """`days` as a list (the month view wants them all; the same few windows are asked
        for again and again, so their dates are remembered: `_day_range`)."""
        return list(_day_range(max(first, self.today()), min(last, self.last_day())))

    def days(self, first: date, last: date) -> Iterator[date]:
        day = max(first, self.today())
        last = min(last, self.last_day())
        while day <= last:
            yield day
            day += timedelta(days=1)


@lru_cache(maxsize=256)
def _day_range(first: date, last: date) -> tuple[date, ...]:
    """The dates from `first` to `last`, both included."""
    return tuple(first + timedelta(days=offset) for offset in range((last - first).days + 1))


async def _read_team(session: AsyncSession, location_id: int, version: int | None) -> Team | None:
    """The location's team as it is now, tagged with `version`, read before: the team is at
    least that recent, so any later change shows as a version of its own."""
    found = await repository.team(session, location_id)
    if found is None:
        return None
    rules = Rules(
        zone=zone(found.timezone),
        step=found.slot_step_seconds,
        min_notice=found.min_notice_seconds,
        horizon_days=found.horizon_days,
    )
    members = tuple(Member(staff, position, lengths) for staff, position, lengths in found.members)
    schedules = await repository.schedules(session, [member.staff.id for member in members])
    return Team(version, rules, members, schedules)


def _selection(team: Team, staff_id: int, service_ids: list[int]) -> Selection:
    key = (staff_id, tuple(service_ids))
    found = team.selections.get(key)
    if found is None:
        named = [member for member in team.members if member.staff.id == staff_id or not staff_id]
        able = [(member, member.length(service_ids)) for member in named]
        found = Selection(
            members=tuple(member for member, length in able if length is not None),
            lengths={member.staff.id: length for member, length in able if length is not None},
            member_missing=bool(staff_id) and not named,
        )
        if len(team.selections) < SELECTIONS:
            team.selections[key] = found
    return found


def _availability(team: Team, staff_id: int, service_ids: list[int], now: datetime) -> Availability:
    selection = _selection(team, staff_id, service_ids)
    return Availability(
        rules=team.rules,
        now=now,
        members=list(selection.members),
        service_ids=service_ids,
        member_missing=selection.member_missing,
        schedules=team.schedules,
        _lengths=selection.lengths,
        _plans=team.plans,
        _working=selection.working,
        _covering=selection.covering,
    )


def _guess(
    records: Callable[[Availability], Wanted | None], availability: Availability
) -> tuple[bool, Wanted | None]:
    """Whether `records` accepted the request, and what it wants."""
    try:
        return True, records(availability)
    except ApiError:  # refused again below if the cached team turns out current
        return False, None


async def _first_read(
    session: AsyncSession,
    memory: BusyMemory | None,
    guessed: Availability | None,
    guess: Wanted | None,
) -> tuple[repository.Busy, dict[int, _SortedBusy], int | None]:
    """The busy time `guess` names with the catalog version, through `memory` when given,
    counting also the members that `bookable_days` reads next (twice as many, in display
    order): when what is kept of them is current, its second batch needs no read."""
    if memory is not None and guessed is not None and guess is not None and guess[0]:
        following = guessed.members[: 3 * len(guess[0])]
        count = [member.staff.id for member in following]
        return await memory.read(session, guess, with_version=True, count=count)
    version, busy = await repository.busy_and_version(session, guess)
    return busy, {}, version


async def team(
    session: AsyncSession,
    location_id: int,
    staff_id: int,
    service_ids: list[int],
    records: Callable[[Availability], Wanted | None] = lambda _: None,
    *,
    remember_busy: bool = True,
) -> Availability:
    """The location's rules and the members able to do all `service_ids` (one member, or any
    when `staff_id` is 0) with their schedules, and the records `records` asks for. A missing
    location is a 404 here; a missing member only at `require_member`, so that callers check
    their parameters first.

    The team comes from the process's cache when the catalog version, read in the same statement
    as the records, says it is current: one round trip. Otherwise it is read again (and cached),
    and so are the records if that changed which ones are wanted.

    With `remember_busy`, a request that holds no transaction (so reads only what is committed)
    uses and keeps the busy time of the team's members (`BusyMemory`). A caller
    that changes the lists in `Availability.busy` must not ask for it.
    """
    now = clock_now()
    teams = cache.of(session)
    cached = teams.get(location_id) if teams is not None else None
    remember = (
        remember_busy
        and teams is not None
        and isinstance(session.sync_session.bind, Engine)
        and not session.in_transaction()
    )
    guess = None  # the records wanted according to the cached team
    guessed: Availability | None = None  # its availability, when `records` accepted it
    if cached is not None:
        guessed = _availability(cached, staff_id, service_ids, now)
        accepted, guess = _guess(records, guessed)
        if not accepted:
            guessed = None  # refused: asked again below, to raise if the team is current
    memory = BusyMemory(cached.busy) if remember and cached is not None else None
    busy, sorted_busy, version = await _first_read(session, memory, guessed, guess)
    found = cached
    if found is None or version is None or found.version != version:
        metrics.count(metrics.AVAILABILITY_CACHE, "miss")
        found = await _read_team(session, location_id, version)
        if found is None:
            raise NotFound("Location not found.")
        if teams is not None and version is not None:
            teams.put(location_id, found)
    else:
        metrics.count(metrics.AVAILABILITY_CACHE, "hit")
    if found is cached and guessed is not None:  # the guess was right: nothing to redo
        availability, wanted = guessed, guess
    else:
        if memory is not None:  # what the old team kept is trusted only under its version
            guess = None  # (a restore moves the version on, and may move counters back)
        availability = _availability(found, staff_id, service_ids, now)
        wanted = records(availability)
    if remember:
        availability._memory = memory if memory is not None else BusyMemory(found.busy)
        availability._memory.kept = found.busy
    if wanted != guess:
        busy, sorted_busy = {}, {}
        if wanted is not None:
            await availability.read_busy(session, wanted)
    availability.add_busy(busy, sorted_busy)
    availability.version = version
    return availability


async def load(
    session: AsyncSession,
    location_id: int,
    staff_id: int,
    service_ids: list[int],
    start: datetime,
) -> Availability:
    """`team`, checked, with the busy time that a visit from `start` could touch
    (`Availability.around`): on a full day, a handful of rows where the visit's days held
    dozens."""
    availability = await team(
        session,
        location_id,
        staff_id,
        service_ids,
        lambda availability: availability.around(start),
        remember_busy=False,  # bookings add their own appointments to `busy`
    )
    availability.require_member()
    return availability


# A start's local time and ISO form by (start, zone): the same grid instants are shown request
# after request, and formatting them was a tenth of `book_times`. Starts over when full.
_SHOWN: dict[tuple[datetime, Any], tuple[str, str]] = {}
SHOWN_SIZE = 16_384


def slot_view(start: datetime, length: int, rules: Rules) -> dict[str, Any]:
    key = (start, rules.zone)
    shown = _SHOWN.get(key)
    if shown is None:
        local = start.astimezone(rules.zone)
        shown = (local.strftime("%H:%M"), local.isoformat())
        if len(_SHOWN) >= SHOWN_SIZE:
            _SHOWN.clear()
        _SHOWN[key] = shown
    return {
        "time": shown[0],
        "seance_length": length,
        "sum_length": length,
        "datetime": shown[1],
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
    today: date, on: date | None, date_from: date | None, date_to: date | None, horizon_end: date
) -> tuple[date, date]:
    """`date_from`+`date_to` win; else the month of `date`; else today to the horizon."""
    if date_from or date_to:
        if not (date_from and date_to):
            raise InvalidParameter("date_to" if date_from else "date_from", "give both or neither")
        first, last = date_from, date_to
        if last < first:
            raise InvalidParameter("date_to", "must not be before date_from")
    elif on:
        first = on.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    else:
        first, last = today, max(today, horizon_end)
    if (last - first).days > MAX_RANGE_DAYS:
        raise InvalidParameter("date_to", f"a range covers at most {MAX_RANGE_DAYS} days")
    return first, last


def _moment(at: datetime | None, availability: Availability) -> datetime | None:
    """A filter time in UTC (a repeated local time is its first occurrence)."""
    if at is None:
        return None
    try:
        return instant(at, availability.rules.zone, exact=False)
    except ValueError as exc:
        raise InvalidParameter("datetime", str(exc)) from None


async def book_times(
    session: AsyncSession, location_id: int, staff_id: int, day: date, service_ids: list[int]
) -> list[dict[str, Any]]:
    def records(availability: Availability) -> Wanted | None:
        return availability.records(day, day) if day in set(availability.days(day, day)) else None

    availability = await team(session, location_id, staff_id, service_ids, records)
    availability.require_member()
    if day not in set(availability.days(day, day)):
        return []
    return times(availability, day)


async def book_dates(
    session: AsyncSession,
    location_id: int,
    staff_id: int,
    service_ids: list[int],
    window: tuple[date | None, date | None, date | None],
) -> tuple[list[date], list[date]]:
    """(working dates, dates with at least one free slot) in the requested window."""

    def first_batch(availability: Availability) -> Wanted | None:
        first, last = date_window(availability.today(), *window, availability.last_day())
        days = availability.day_list(first, last)
        if not days:
            return None
        batch = availability.members[: availability.covering(first, last)]
        return availability.records(days[0], days[-1], batch)

    availability = await team(session, location_id, staff_id, service_ids, first_batch)
    first, last = date_window(availability.today(), *window, availability.last_day())
    availability.require_member()
    working = availability.working_days(first, last)
    read = availability.covering(first, last)
    return working, await bookable_days(session, availability, first, last, read)


async def bookable_days(
    session: AsyncSession, availability: Availability, first: date, last: date, read: int
) -> list[date]:
    """The days from `first` to `last` on which some member has a free slot.

    One free member settles a day, so records are read for a batch of members at a time, in
    display order, and only over the days the batches before left undecided. The first `read`
    members' records came with the team (`book_dates`).
    """
    undecided = availability.day_list(first, last)
    bookable: list[date] = []
    done, size = 0, read
    while undecided and done < len(availability.members):
        batch = availability.members[done : done + size]
        if done:
            await availability.read_busy(
                session, availability.records(undecided[0], undecided[-1], batch)
            )
        for member in batch:
            if not undecided:
                break
            free = availability.free_days(member, undecided)
            if free:
                bookable.extend(free)
                undecided = [day for day in undecided if day not in free]
        done, size = done + size, size * 2
    return sorted(bookable)


async def book_staff(
    session: AsyncSession,
    location_id: int,
    service_ids: list[int],
    at: datetime | None,
    *,
    seances: bool,
) -> tuple[
    bool, Availability, list[tuple[Member, Nearest | None]], dict[int, tuple[int, int, int]]
]:
    """Members who do all `service_ids` (and are free at `at`), each with their nearest free
    day; whether members are shown by their position (`catalog.shows_position`); and what
    reviews add to their ratings (`reviews.totals`)."""
    location = await catalog.location(session, location_id)

    def first_day(availability: Availability) -> date:
        moment, today = _moment(at, availability), availability.today()
        return min(today, moment.astimezone(availability.rules.zone).date()) if moment else today

    availability = await team(
        session,
        location_id,
        0,
        service_ids,
        lambda availability: availability.records(first_day(availability), availability.last_day()),
    )
    moment, today = _moment(at, availability), availability.today()
    result = []
    for member in availability.members:
        if moment is not None and not availability.is_bookable(member, moment):
            continue
        found = nearest(availability, member, today)
        if found is not None and not seances:
            found = (found[0], [])
        result.append((member, found))
    # Ratings from reviews: beside the cached team, read fresh (reviews bump no catalog version).
    ratings = await reviews.totals(session, [member.staff.id for member, _ in result])
    return await catalog.shows_position(session, location), availability, result, ratings


async def book_staff_seances(
    session: AsyncSession,
    location_id: int,
    staff_id: int,
    service_ids: list[int],
    at: datetime | None,
) -> dict[str, Any]:
    """The nearest day from `at` (or today) with free time, and its slots."""

    def first_day(availability: Availability) -> date:
        moment, today = _moment(at, availability), availability.today()
        return max(today, moment.astimezone(availability.rules.zone).date()) if moment else today

    availability = await team(
        session,
        location_id,
        staff_id,
        service_ids,
        lambda availability: availability.records(first_day(availability), availability.last_day()),
    )
    start_day, last = first_day(availability), availability.last_day()
    availability.require_member()
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
    at: datetime | None,
    *,
    candidates: Sequence[int],
) -> set[int]:
    """Of `candidates`, those that can join `service_ids` with the member (or anyone), at `at`."""

    def records(availability: Availability) -> Wanted | None:
        moment = _moment(at, availability)
        if moment is None:
            return None
        day = moment.astimezone(availability.rules.zone).date()
        return availability.records(day, day)

    availability = await team(session, location_id, staff_id, [], records)
    moment = _moment(at, availability)
    availability.require_member()
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


async def companies(
    session: AsyncSession,
    dialect: Dialect,
    params: CompaniesQuery,
    only: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """`GET /companies`: the catalog's locations, with `next_slot` when asked `forBooking`;
    with `only`, just those (`my=1`: a business user's own)."""
    items = await catalog.companies(
        session,
        dialect,
        location_id=params.id,
        chain_id=params.group_id,
        active_only=params.active,
        title=params.title,
        page=params.page,
        count=params.count,
        only=only,
    )
    if params.forBooking:
        for item in items:
            item["next_slot"] = await next_slot(session, item["id"])
    return items


async def company(
    session: AsyncSession, location_id: int, dialect: Dialect, *, for_booking: bool
) -> dict[str, Any]:
    data = await catalog.company(session, location_id, dialect)
    if for_booking:
        data["next_slot"] = await next_slot(session, location_id)
    return data


async def book_services(
    session: AsyncSession, location_id: int, params: BookServicesQuery
) -> dict[str, Any]:
    """A location's categories and services; with `staff_id` that member's, at their length.

    With `service_ids` and/or `datetime` (a local time), only what can still be booked:
    services that one member (that member, or anyone) can do together with the chosen ones at
    that time.
    """
    offered = await catalog.services(session, location_id, params.staff_id)
    if params.service_ids or params.datetime:
        keep = await bookable_services(
            session,
            location_id,
            params.staff_id,
            params.service_ids,
            params.datetime,
            candidates=[item["id"] for item in offered],
        )
        offered = [item for item in offered if item["id"] in keep]
    return await catalog.book_services(session, location_id, offered)


@dataclass(frozen=True, slots=True)
class WeekdayGrid:
    """The start times a location's grid offers on one weekday (1 = Monday … 7 = Sunday)."""

    weekday: int
    starts: list[int]  # seconds from local midnight


async def timeslots(session: AsyncSession, location_id: int) -> tuple[Location, list[WeekdayGrid]]:
    """The location's grid per weekday: every multiple of its slot step at which at least one
    bookable member works (breaks excluded), as `book_times` offers them."""
    location = await catalog.location(session, location_id)
    step = location.slot_step_seconds or 900
    days: dict[tuple[int, int], tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
    for weekday, start, end, is_break, staff_id in await repository.weekly_hours(
        session, location_id
    ):
        hours, breaks = days.setdefault((staff_id, weekday), ([], []))
        (breaks if is_break else hours).append((start, end))
    starts: dict[int, set[int]] = {day: set() for day in range(7)}
    for (_, weekday), (hours, breaks) in days.items():
        for start, end in DaySchedule(tuple(hours), tuple(breaks)).working():
            first = -(-start // step) * step
            starts[weekday].update(range(first, end, step))
    return location, [WeekdayGrid(day + 1, sorted(starts[day])) for day in range(7)]
