"""The pure engine against a brute-force oracle that walks the day minute by minute."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from openbooking.availability.slots import (
    DaySchedule,
    Interval,
    Rules,
    free_gaps,
    free_slots,
    gap_starts,
    grid,
    has_start,
    is_bookable,
    member_day,
    resolve_day,
    working_intervals,
)

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
DST_DAYS = [date(2026, 3, 29), date(2026, 10, 25), date(2026, 3, 8), date(2026, 11, 1)]
MINUTE = timedelta(minutes=1)


def wall_seconds(instant: datetime, zone: ZoneInfo) -> tuple[date, int]:
    local = instant.astimezone(zone)
    return local.date(), local.hour * 3600 + local.minute * 60 + local.second


Scenario = tuple[date, DaySchedule, list[Interval], int, datetime, Rules]


def oracle(scenario: Scenario) -> list[datetime]:
    """Every minute of the day checked on its own: working, not in a break, not busy."""
    day, schedule, busy, length, now, rules = scenario
    zone = rules.zone
    first = datetime.combine(day, time(), UTC) - timedelta(days=1)

    def free_minute(instant: datetime) -> bool:
        on, seconds = wall_seconds(instant, zone)
        in_hours = any(s <= seconds < e for s, e in schedule.hours)
        in_break = any(s <= seconds < e for s, e in schedule.breaks)
        taken = any(b0 <= instant < b1 for b0, b1 in busy)
        return on == day and in_hours and not in_break and not taken

    result = []
    for minute in range(3 * 24 * 60):
        start = first + minute * MINUTE
        on, seconds = wall_seconds(start, zone)
        if on != day or seconds % rules.step:
            continue
        if not (now + timedelta(seconds=rules.min_notice) <= start):
            continue
        if start >= now + timedelta(days=rules.horizon_days):
            continue
        if all(free_minute(start + i * MINUTE) for i in range(length // 60)):
            result.append(start)
    return result


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    day = draw(st.one_of(st.sampled_from(DST_DAYS), st.dates(date(2026, 1, 1), date(2026, 12, 31))))
    quarter = st.integers(0, 96).map(lambda q: q * 900)
    hours = []
    for _ in range(draw(st.integers(1, 3))):
        a, b = sorted(draw(st.lists(quarter, min_size=2, max_size=2, unique=True)))
        hours.append((a, b))
    breaks = []
    for _ in range(draw(st.integers(0, 2))):
        a, b = sorted(draw(st.lists(quarter, min_size=2, max_size=2, unique=True)))
        breaks.append((a, b))
    schedule = DaySchedule(tuple(hours), tuple(breaks))
    midnight = datetime.combine(day, time(), UTC)
    busy = []
    for _ in range(draw(st.integers(0, 4))):
        start = midnight + timedelta(minutes=draw(st.integers(-120, 26 * 60)))
        busy.append((start, start + timedelta(minutes=draw(st.integers(5, 240)))))
    length = draw(st.sampled_from([15, 30, 45, 60, 90, 135, 240])) * 60
    now = midnight + timedelta(minutes=draw(st.integers(-3 * 24 * 60, 24 * 60)))
    rules = Rules(
        zone=zone,
        step=draw(st.sampled_from([300, 600, 900, 1800, 3600])),
        min_notice=draw(st.sampled_from([0, 1800, 3600, 86400])),
        horizon_days=draw(st.integers(1, 5)),
    )
    return day, schedule, busy, length, now, rules


@settings(max_examples=300, deadline=None)
@given(scenarios(), st.lists(st.integers(-120, 26 * 60), max_size=3))
def test_walking_the_free_gaps_offers_what_testing_every_start_offers(
    scenario: Scenario, instants: list[int]
) -> None:
    """The month view and book_times walk the gaps between busy intervals (also empty ones, at
    an instant) instead of testing each grid start: the same starts, in the same order."""
    day, schedule, busy, length, now, rules = scenario
    midnight = datetime.combine(day, time(), UTC)
    busy = busy + [(midnight + m * MINUTE, midnight + m * MINUTE) for m in instants]
    member = member_day(day, schedule, busy, rules.zone)
    gaps = free_gaps(working_intervals(day, schedule, rules.zone), sorted(busy))
    earliest = now + timedelta(seconds=rules.min_notice)
    latest = now + timedelta(days=rules.horizon_days)
    starts = grid(day, schedule, rules)
    offered = free_slots(schedule, member, length, now, rules)
    assert gap_starts(starts, gaps, length, earliest, latest) == offered
    assert gap_starts(starts, gaps, length, earliest, latest, first_only=True) == offered[:1]
    working = working_intervals(day, schedule, rules.zone)
    span = timedelta(seconds=length)
    assert has_start(starts, working, sorted(busy), span, earliest=earliest, latest=latest) == bool(
        offered
    )


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_offered_slots_are_exactly_the_valid_grid_starts(scenario: Scenario) -> None:
    day, schedule, busy, length, now, rules = scenario
    member = member_day(day, schedule, busy, rules.zone)
    offered = free_slots(schedule, member, length, now, rules)
    assert offered == oracle(scenario)
    for start in offered:
        assert is_bookable(start, length, member, now, rules)
        end = start + timedelta(seconds=length)
        assert not any(b0 < end and start < b1 for b0, b1 in busy)


def test_days_off_beat_exceptions_beat_the_week() -> None:
    week = {0: DaySchedule(((9 * 3600, 17 * 3600),))}
    special = DaySchedule(((10 * 3600, 12 * 3600),))
    monday, next_monday = date(2026, 11, 23), date(2026, 11, 30)
    assert resolve_day(monday, week, {}, set()) == week[0]
    assert resolve_day(monday, week, {monday: special}, set()) == special
    assert resolve_day(monday, week, {monday: special}, {monday}) is None
    assert resolve_day(next_monday + timedelta(days=1), week, {}, set()) is None


def test_off_grid_and_foreign_day_starts_are_refused() -> None:
    zone = ZoneInfo("Europe/Berlin")
    rules = Rules(zone=zone, step=900, horizon_days=400)
    day = date(2026, 6, 1)
    schedule = DaySchedule(((9 * 3600, 17 * 3600),))
    member = member_day(day, schedule, [], zone)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    nine = datetime(2026, 6, 1, 9, 0, tzinfo=zone)
    assert is_bookable(nine, 3600, member, now, rules)
    assert not is_bookable(nine + timedelta(minutes=5), 3600, member, now, rules)
    assert not is_bookable(nine + timedelta(days=1), 3600, member, now, rules)
    assert not is_bookable(datetime(2026, 6, 1, 16, 30, tzinfo=zone), 3600, member, now, rules)


# Group-event sessions are busy time too: a weekly series on the scenario's weekday, expanded by
# `activities.service.occurrences` (local wall time, across clock changes), beside the records.


def _session_instant(day: date, second: int, zone: ZoneInfo) -> datetime | None:
    """The first real instant showing `second` past local midnight, or None (a skipped hour)."""
    wall = datetime.combine(day, time(second // 3600, second % 3600 // 60), zone)
    instant = wall.astimezone(UTC)
    return (
        instant
        if instant.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None)
        else None
    )


@settings(max_examples=200, deadline=None)
@given(
    scenarios(),
    st.lists(st.integers(0, 95).map(lambda q: q * 900), max_size=3, unique=True),
    st.sampled_from([30, 60, 90]),
)
def test_sessions_are_busy_time(scenario: Scenario, starts: list[int], minutes: int) -> None:
    from openbooking.activities.service import occurrences  # noqa: PLC0415
    from openbooking.models import Event  # noqa: PLC0415

    day, schedule, busy, length, now, rules = scenario
    event = Event(
        at=None,
        weekly={str(day.weekday()): sorted(starts)},
        first_date=None,
        last_date=None,
        length_seconds=minutes * 60,
    )
    sessions = occurrences(event, rules.zone, day, day)
    expected = [
        (start, start + timedelta(minutes=minutes))
        for second in sorted(starts)
        if (start := _session_instant(day, second, rules.zone)) is not None
    ]
    assert sorted(sessions) == sorted(expected)
    member = member_day(day, schedule, [*busy, *sessions], rules.zone)
    offered = free_slots(schedule, member, length, now, rules)
    assert offered == oracle((day, schedule, [*busy, *expected], length, now, rules))
    for start in offered:
        end = start + timedelta(seconds=length)
        assert not any(s0 < end and start < s1 for s0, s1 in sessions)
