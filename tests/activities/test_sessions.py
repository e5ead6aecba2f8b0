"""Events in the business file become sessions: checked with paths, kept in local time across
clock changes, stable across reloads, and refused by the database itself when they overlap an
individual appointment (and the other way round), on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from openbooking.business import document, loader
from openbooking.business.document import BusinessFileError
from openbooking.models import EventSession, Record
from openbooking.models.activities import SESSION_ACTIVE, SESSION_CANCELLED
from openbooking.models.records import RECORD_ACTIVE

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncSession

LOCATION, LEADER, OTHER, ROOM = 5001, 601, 602, 701
YOGA, TALK = 801, 802


def business(**event: Any) -> dict[str, Any]:
    """A Berlin studio whose two members work every day 08:00-20:00 (a break 13:00-14:00 on
    Mondays), with one event (fields overridden by `event`; None leaves one out)."""
    week: dict[str, Any] = {
        day: ["08:00-20:00"] for day in ("tue", "wed", "thu", "fri", "sat", "sun")
    }
    week["mon"] = {"hours": "08:00-20:00", "breaks": ["13:00-14:00"]}
    member = {"services": [501], "schedule": {"weekly": week, "days_off": ["2027-01-01"]}}
    return {
        "version": 1,
        "locations": [
            {
                "id": LOCATION,
                "title": "Studio",
                "timezone": "Europe/Berlin",
                "booking": {"horizon_days": 60},
                "categories": [{"id": 51, "title": "Classes"}],
                "services": [
                    {"id": 501, "title": "Private lesson", "category": 51, "duration": "1h"},
                    {"id": 502, "title": "Yoga", "category": 51, "duration": "1h", "price_min": 15},
                ],
                "staff": [
                    {"id": LEADER, "name": "Ida", **member},
                    {"id": OTHER, "name": "Ole", **member},
                ],
                "resources": [{"id": ROOM, "title": "Room"}],
                "events": [
                    {
                        "id": YOGA,
                        "service": 502,
                        "staff": LEADER,
                        "resources": [ROOM],
                        "capacity": 5,
                        **{
                            key: value
                            for key, value in {"weekly": {"sat": ["10:00"]}, **event}.items()
                            if value is not None
                        },
                    }
                ],
            }
        ],
    }


def with_events(data: dict[str, Any], *events: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    data["locations"][0]["events"] += list(events)
    return data


TALK_EVENT = {"id": TALK, "service": 502, "staff": OTHER, "capacity": 3}


class TestDocument:
    @pytest.mark.parametrize(
        ("data", "path", "words"),
        [
            (business(weekly={"sat": ["19:30"]}), "events[0].weekly.sat[0]", "does not work"),
            (business(weekly={"mon": ["12:30"]}), "events[0].weekly.mon[0]", "breaks"),
            (business(weekly=None, at="2027-01-01T10:00"), "events[0].at", "day off"),
            (business(weekly={"sat": ["23:30"]}), "events[0].weekly.sat[0]", "midnight"),
            (business(staff=999), "events[0].staff", "no staff member 999"),
            (business(resources=[9]), "events[0].resources[0]", "no resource 9"),
            (business(service=9), "events[0].service", "no service 9"),
            (business(weekly=None), "events[0]", "either `at`"),
            (business(at="2027-01-02T10:00"), "events[0]", "either `at`"),
            (business(capacity=0), "events[0].capacity", ""),
            (business(length="25h"), "events[0].length", ""),
            (business(weekly=None, at="2027-02-30T10:00"), "events[0].at", "not a date"),
            (business(start_date="2027-02-01", end_date="2027-01-01"), "events[0].end_date", ""),
            (
                with_events(business(), {**TALK_EVENT, "staff": LEADER, "at": "2026-12-05T10:30"}),
                "events[1].at",
                "same leader",
            ),
            (
                with_events(
                    business(), {**TALK_EVENT, "resources": [ROOM], "weekly": {"sat": ["10:59"]}}
                ),
                "events[1].weekly.sat[0]",
                "same resource",
            ),
            (
                with_events(business(), {**TALK_EVENT, "id": YOGA, "at": "2026-12-05T15:00"}),
                "events[1].id",
                "also used",
            ),
        ],
    )
    def test_refused_with_the_path(self, data: dict[str, Any], path: str, words: str) -> None:
        with pytest.raises(BusinessFileError) as caught:
            document.check(data)
        assert caught.value.path == f"locations[0].{path}"
        assert words in caught.value.message

    def test_what_may_share_a_time(self) -> None:
        # Another leader in another room at the same time; the same leader right after; the
        # same weekday in a series that ended before this one starts.
        document.check(
            with_events(
                business(start_date="2027-01-01"),
                {**TALK_EVENT, "weekly": {"sat": ["10:00"]}},
                {**TALK_EVENT, "id": 803, "staff": LEADER, "weekly": {"sat": ["11:00"]}},
                {
                    **TALK_EVENT,
                    "id": 804,
                    "staff": LEADER,
                    "weekly": {"sat": ["10:00"]},
                    "end_date": "2026-12-31",
                },
            )
        )


def load(data: dict[str, Any]) -> Callable[[AsyncSession], Any]:
    async def work(session: AsyncSession) -> None:
        await loader.load(session, data)

    return work


async def sessions_of(session: AsyncSession) -> list[EventSession]:
    return list(await session.scalars(select(EventSession).order_by(EventSession.starts_at)))


class TestSessions:
    async def test_weekly_local_time_across_both_clock_changes(self, run_in_session: Any) -> None:
        """Saturdays 10:00 in Berlin from February to November 2027: 09:00 UTC in winter,
        08:00 UTC in summer (clocks change on 28 March and 31 October)."""
        data = business(weekly={"sat": ["10:00"], "sun": ["09:00"]})
        data["locations"][0]["booking"]["horizon_days"] = 300
        with time_machine.travel(datetime(2027, 2, 1, 12, tzinfo=UTC), tick=False):
            await run_in_session(load(data))
        found = await run_in_session(sessions_of)
        local = [
            row.starts_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
            for row in found
        ]
        assert {f"{moment:%a %H:%M}" for moment in local} == {"Sat 10:00", "Sun 09:00"}
        utc = {row.starts_at.date().isoformat(): row.starts_at.hour for row in found}
        assert utc["2027-03-27"] == 9  # the last winter Saturday
        assert utc["2027-03-28"] == 7  # Sunday the clocks go forward
        assert utc["2027-04-03"] == 8
        assert utc["2027-10-30"] == 8  # the last summer Saturday
        assert utc["2027-10-31"] == 8  # the Sunday they go back: 09:00 CET
        assert utc["2027-11-06"] == 9
        assert all(row.ends_at - row.starts_at == timedelta(hours=1) for row in found)

    async def test_ids_stay_across_reloads_and_vanished_sessions_are_cancelled(
        self, run_in_session: Any
    ) -> None:
        with time_machine.travel(datetime(2026, 12, 1, 6, tzinfo=UTC), tick=False):
            await run_in_session(load(business()))
            first = {row.starts_at: row.id for row in await run_in_session(sessions_of)}
            assert len(first) == 9  # Saturdays of the next 60 days
            await run_in_session(load(business(capacity=7)))
            again = await run_in_session(sessions_of)
            assert {row.starts_at: row.id for row in again} == first
            assert {row.capacity for row in again} == {7}
            await run_in_session(load(business(weekly={"sat": ["11:00"]})))
            moved = await run_in_session(sessions_of)
        assert {row.status for row in moved if row.starts_at in first} == {SESSION_CANCELLED}
        assert len([row for row in moved if row.status == SESSION_ACTIVE]) == 9

    async def test_a_booked_session_stays(self, run_in_session: Any) -> None:
        with time_machine.travel(datetime(2026, 12, 1, 6, tzinfo=UTC), tick=False):
            await run_in_session(load(business()))
            (first, *_) = await run_in_session(sessions_of)
            await run_in_session(lambda s: _seat(s, first, seats=4))
            with pytest.raises(BusinessFileError) as caught:
                await run_in_session(load(business(weekly={"sun": ["10:00"]})))
            assert caught.value.path == "locations[0].events[0]"
            assert "4 booked seat(s)" in caught.value.message
            with pytest.raises(BusinessFileError) as caught:
                await run_in_session(load(business(capacity=3)))
            assert "capacity 3" in caught.value.message
            await run_in_session(load(business(staff=OTHER, length="90m")))
            seat = await run_in_session(lambda s: s.scalar(select(Record)))
        assert seat.staff_id == OTHER
        assert seat.ends_at - seat.starts_at == timedelta(minutes=90)

    async def test_a_session_over_an_appointment_is_refused_with_the_path(
        self, run_in_session: Any
    ) -> None:
        with time_machine.travel(datetime(2026, 12, 1, 6, tzinfo=UTC), tick=False):
            await run_in_session(load(business(weekly={"sun": ["10:00"]})))
            await run_in_session(
                lambda s: _record(s, LEADER, datetime(2026, 12, 12, 9, 30, tzinfo=UTC))
            )
            with pytest.raises(BusinessFileError) as caught:
                await run_in_session(load(business()))
        assert caught.value.path == "locations[0].events[0]"
        assert "overlaps an appointment" in caught.value.message


async def _seat(
    session: AsyncSession, row: EventSession, seats: int, phone: str = "+4915112345678"
) -> None:
    await session.execute(
        insert(Record).values(
            location_id=LOCATION,
            staff_id=row.staff_id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            status=RECORD_ACTIVE,
            hash_digest="x",
            client_phone=phone,
            activity_id=row.id,
            clients_count=seats,
            custom_fields={},
            created_at=row.starts_at,
            updated_at=row.starts_at,
        )
    )


async def _record(session: AsyncSession, staff_id: int, start: datetime) -> None:
    await session.execute(
        insert(Record).values(
            location_id=LOCATION,
            staff_id=staff_id,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            status=RECORD_ACTIVE,
            hash_digest="x",
            client_phone="+4915112345679",
            custom_fields={},
            created_at=start,
            updated_at=start,
        )
    )


class TestTheDatabaseRefuses:
    """Raw SQL, past every service: the tables themselves keep sessions and appointments of a
    member apart."""

    @pytest.fixture
    async def loaded(self, run_in_session: Any) -> EventSession:
        with time_machine.travel(datetime(2026, 12, 1, 6, tzinfo=UTC), tick=False):
            await run_in_session(load(business()))
        rows: list[EventSession] = await run_in_session(sessions_of)
        return rows[0]  # Saturday 2026-12-05 09:00-10:00 UTC

    async def test_an_appointment_over_a_session(
        self, run_in_session: Any, loaded: EventSession
    ) -> None:
        with pytest.raises(IntegrityError):
            await run_in_session(
                lambda s: _record(s, LEADER, loaded.starts_at + timedelta(minutes=30))
            )
        # Right after it, or another member at the same time: fine.
        await run_in_session(lambda s: _record(s, LEADER, loaded.ends_at))
        await run_in_session(lambda s: _record(s, OTHER, loaded.starts_at))

    async def test_an_appointment_moved_into_a_session(
        self, run_in_session: Any, loaded: EventSession
    ) -> None:
        await run_in_session(lambda s: _record(s, LEADER, loaded.ends_at))

        async def move(session: AsyncSession) -> None:
            record = await session.scalar(select(Record))
            assert record is not None
            record.starts_at, record.ends_at = loaded.starts_at, loaded.ends_at
            await session.flush()

        with pytest.raises(IntegrityError):
            await run_in_session(move)

    async def test_a_session_over_an_appointment(
        self, run_in_session: Any, loaded: EventSession
    ) -> None:
        start = loaded.starts_at + timedelta(days=1)
        await run_in_session(lambda s: _record(s, LEADER, start))

        async def add(session: AsyncSession) -> None:
            session.add(
                EventSession(
                    event_id=YOGA,
                    location_id=LOCATION,
                    staff_id=LEADER,
                    starts_at=start - timedelta(minutes=30),
                    ends_at=start + timedelta(minutes=30),
                    capacity=5,
                )
            )
            await session.flush()

        with pytest.raises(IntegrityError):
            await run_in_session(add)

    async def test_two_sessions_of_one_leader(
        self, run_in_session: Any, loaded: EventSession
    ) -> None:
        async def add(session: AsyncSession) -> None:
            session.add(
                EventSession(
                    event_id=YOGA,
                    location_id=LOCATION,
                    staff_id=LEADER,
                    starts_at=loaded.starts_at + timedelta(minutes=59),
                    ends_at=loaded.ends_at + timedelta(minutes=59),
                    capacity=5,
                )
            )
            await session.flush()

        with pytest.raises(IntegrityError):
            await run_in_session(add)

    async def test_seats_share_their_session_time(
        self, run_in_session: Any, loaded: EventSession
    ) -> None:
        for n in range(3):
            await run_in_session(lambda s, n=n: _seat(s, loaded, 1, f"+491511234560{n}"))
        with pytest.raises(IntegrityError):  # one booking per phone and session
            await run_in_session(lambda s: _seat(s, loaded, 1, "+4915112345600"))
        count = await run_in_session(
            lambda s: s.scalar(select(__import__("sqlalchemy").func.count()).select_from(Record))
        )
        assert count == 3


class TestExtend:
    async def test_the_horizon_moves_on_and_appointments_keep_their_time(
        self, run_in_session: Any
    ) -> None:
        from openbooking.activities import service  # noqa: PLC0415

        with time_machine.travel(datetime(2026, 12, 1, 6, tzinfo=UTC), tick=False):
            await run_in_session(load(business()))
            # Booked individually before the class of 2027-02-06 exists (beyond the horizon).
            await run_in_session(
                lambda s: _record(s, LEADER, datetime(2027, 2, 6, 9, 0, tzinfo=UTC))
            )
        with time_machine.travel(datetime(2026, 12, 15, 6, tzinfo=UTC), tick=False):
            assert await run_in_session(service.extend) == (1, 1)
        days = {row.starts_at.date().isoformat() for row in await run_in_session(sessions_of)}
        assert "2027-02-13" in days
        assert "2027-02-06" not in days


def test_the_command(tmp_path: Any) -> None:
    from tests.test_cli import Cli  # noqa: PLC0415

    cli = Cli(tmp_path)
    assert cli("demo").returncode == 0
    done = cli("events", "extend")
    assert done.returncode == 0, done.stderr
    assert "2 location(s)" in done.stderr
