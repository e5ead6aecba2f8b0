"""Availability through HTTP: any member, service chains, records, notice, horizon, DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import time_machine

from openbooking.business import document, loader
from openbooking.kit.envelope import Dialect
from openbooking.models import Record
from tests.catalog.test_endpoints import failed, ok

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.ext.asyncio import AsyncSession

    from tests.conftest import Api

BERLIN = 1001
LENA, MIRA, TOBIAS = 201, 202, 203  # Lena: Tue-Sat; Mira: Mon-Fri; Tobias: Mon, Wed-Sat
# Tuesday 2026-12-01, 07:00 in Berlin: the whole day ahead is inside notice and horizon.
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
DAY = "2026-12-03"  # a Thursday


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def times_of(data: list[dict[str, Any]]) -> list[str]:
    return [slot["time"] for slot in data]


async def demo_services(api: Api, staff_id: int) -> dict[int, int]:
    data = ok(await api.get(f"/book_services/{BERLIN}", params={"staff_id": staff_id}))
    return {service["id"]: service["seance_length"] for service in data["services"]}


async def add_record(run: Any, staff_id: int, start: datetime, minutes: int) -> None:
    async def work(session: AsyncSession) -> None:
        session.add(
            Record(
                location_id=BERLIN,
                staff_id=staff_id,
                starts_at=start,
                ends_at=start + timedelta(minutes=minutes),
                hash_digest="0" * 64,
            )
        )

    await run(work)


@pytest.mark.usefixtures("demo")
class TestBookTimes:
    @pytest.mark.parametrize("dialect", [Dialect.ALTEGIO, Dialect.YCLIENTS])
    async def test_slots_carry_the_local_offset(self, api: Api, dialect: Dialect) -> None:
        services = await demo_services(api, LENA)
        service_id = min(services)
        data = ok(
            await api.get(
                f"/book_times/{BERLIN}/{LENA}/{DAY}",
                params={"service_ids[]": service_id},
                dialect=dialect,
            )
        )
        assert data
        for slot in data:
            moment = datetime.fromisoformat(slot["datetime"])
            assert slot["datetime"].endswith("+01:00")
            assert moment.strftime("%H:%M") == slot["time"]
            assert slot["seance_length"] == services[service_id]
            assert slot["sum_length"] == services[service_id]

    async def test_any_member_is_the_union_of_members(self, api: Api) -> None:
        everyone: set[str] = set()
        service_id = 101
        for staff_id in (LENA, MIRA, TOBIAS):
            if service_id in await demo_services(api, staff_id):
                response = await api.get(
                    f"/book_times/{BERLIN}/{staff_id}/{DAY}", params={"service_ids": service_id}
                )
                everyone |= set(times_of(ok(response)))
        anyone = ok(
            await api.get(f"/book_times/{BERLIN}/0/{DAY}", params={"service_ids": service_id})
        )
        assert set(times_of(anyone)) == everyone
        assert times_of(anyone) == sorted(times_of(anyone))

    async def test_a_chain_of_services_takes_the_members_own_lengths(self, api: Api) -> None:
        services = await demo_services(api, LENA)
        first, second = sorted(services)[:2]
        data = ok(
            await api.get(
                f"/book_times/{BERLIN}/{LENA}/{DAY}",
                params=[("service_ids[]", first), ("service_ids[]", second)],
            )
        )
        assert data
        assert {slot["sum_length"] for slot in data} == {services[first] + services[second]}
        single = ok(
            await api.get(f"/book_times/{BERLIN}/{LENA}/{DAY}", params={"service_ids": first})
        )
        assert len(data) < len(single), "a longer visit fits fewer start times"

    async def test_a_record_blocks_its_time(self, api: Api, run_in_session: Any) -> None:
        params = {"service_ids": 101}
        before = ok(await api.get(f"/book_times/{BERLIN}/{LENA}/{DAY}", params=params))
        taken = datetime.fromisoformat(before[2]["datetime"])
        await add_record(run_in_session, LENA, taken, 60)
        after = ok(await api.get(f"/book_times/{BERLIN}/{LENA}/{DAY}", params=params))
        length = timedelta(seconds=before[0]["seance_length"])
        for slot in after:
            start = datetime.fromisoformat(slot["datetime"])
            assert start + length <= taken or start >= taken + timedelta(minutes=60)
        assert len(after) < len(before)

    async def test_member_without_the_service_has_no_slots(self, api: Api) -> None:
        not_lenas = set(await demo_services(api, MIRA)) - set(await demo_services(api, LENA))
        assert not_lenas
        response = await api.get(
            f"/book_times/{BERLIN}/{LENA}/{DAY}", params={"service_ids": min(not_lenas)}
        )
        assert ok(response) == []

    async def test_notice_and_horizon(self, api: Api) -> None:
        today = ok(await api.get(f"/book_times/{BERLIN}/0/2026-12-01", params={"service_ids": 101}))
        notice_end = NOW + timedelta(hours=1)  # the demo's Berlin notice
        assert all(datetime.fromisoformat(s["datetime"]) >= notice_end for s in today)
        past = ok(await api.get(f"/book_times/{BERLIN}/0/2026-11-30", params={"service_ids": 101}))
        beyond = ok(
            await api.get(f"/book_times/{BERLIN}/0/2027-06-01", params={"service_ids": 101})
        )
        assert past == beyond == []

    @pytest.mark.parametrize(
        ("path", "status"),
        [
            (f"/book_times/{BERLIN}/0/2026-02-30", 422),
            (f"/book_times/{BERLIN}/0/tomorrow", 422),
            (f"/book_times/{BERLIN}/0/{DAY}?service_ids=x", 422),
            (f"/book_times/{BERLIN}/999999/{DAY}", 404),
            (f"/book_times/999999/0/{DAY}", 404),
        ],
    )
    async def test_bad_requests(self, api: Api, path: str, status: int) -> None:
        failed(await api.get(path), status)


@pytest.mark.usefixtures("demo")
class TestBookDates:
    @pytest.mark.parametrize("dialect", [Dialect.ALTEGIO, Dialect.YCLIENTS])
    async def test_month_view(self, api: Api, dialect: Dialect) -> None:
        data = ok(
            await api.get(
                f"/book_dates/{BERLIN}",
                params={"staff_id": LENA, "service_ids[]": 101, "date": "2026-12-15"},
                dialect=dialect,
            )
        )
        working = data["working_dates"]
        assert working
        assert all(day.startswith("2026-12-") for day in working)
        weekdays = {datetime.fromisoformat(day).weekday() for day in working}
        assert weekdays <= {1, 2, 3, 4, 5}, "Lena works Tuesday to Saturday"
        assert set(data["booking_dates"]) <= set(working)
        assert "2026-11-30" not in data["booking_dates"]
        days = data["booking_days"]["12"]
        expected = [int(day[-2:]) for day in data["booking_dates"]]
        if dialect is Dialect.YCLIENTS:
            assert days == [str(day) for day in expected]
        else:
            assert days == expected

    async def test_range_and_fully_booked_day(self, api: Api, run_in_session: Any) -> None:
        params = {"staff_id": LENA, "date_from": DAY, "date_to": "2026-12-05"}
        before = ok(await api.get(f"/book_dates/{BERLIN}", params=params))
        assert DAY in before["booking_dates"]
        start = datetime(2026, 12, 3, 0, 0, tzinfo=UTC)
        await add_record(run_in_session, LENA, start, 24 * 60)
        after = ok(await api.get(f"/book_dates/{BERLIN}", params=params))
        assert DAY in after["working_dates"]
        assert DAY not in after["booking_dates"]

    async def test_any_member_day_is_bookable_exactly_when_it_offers_a_slot(
        self, api: Api, run_in_session: Any
    ) -> None:
        """The month view decides a day member by member (the first free one settles it): a day
        taken from everyone is not bookable, a day someone further down the list still has is."""
        everyone, some = "2026-12-03", "2026-12-04"  # Thursday: all three work; Friday too
        for staff_id in (LENA, MIRA, TOBIAS):
            await add_record(run_in_session, staff_id, datetime(2026, 12, 3, tzinfo=UTC), 24 * 60)
        for staff_id in (LENA, MIRA):
            await add_record(run_in_session, staff_id, datetime(2026, 12, 4, tzinfo=UTC), 24 * 60)
        params = {"staff_id": 0, "date_from": "2026-12-01", "date_to": "2026-12-12"}
        data = ok(await api.get(f"/book_dates/{BERLIN}", params=params))
        offering = [
            day
            for day in data["working_dates"]
            if ok(await api.get(f"/book_times/{BERLIN}/0/{day}"))
        ]
        assert everyone in data["working_dates"]
        assert everyone not in data["booking_dates"]
        assert some in data["booking_dates"]
        assert data["booking_dates"] == offering

    @pytest.mark.parametrize(
        "params",
        [
            {"date": "2026-12"},
            {"date_from": DAY},
            {"date_from": "2026-12-05", "date_to": DAY},
            {"date_from": "2026-01-01", "date_to": "2028-01-01"},
        ],
    )
    async def test_bad_windows_are_422(self, api: Api, params: dict[str, str]) -> None:
        failed(await api.get(f"/book_dates/{BERLIN}", params=params), 422)


@pytest.mark.usefixtures("demo")
class TestBookStaff:
    @pytest.mark.parametrize("dialect", [Dialect.ALTEGIO, Dialect.YCLIENTS])
    async def test_members_for_a_service(self, api: Api, dialect: Dialect) -> None:
        data = ok(
            await api.get(f"/book_staff/{BERLIN}", params={"service_ids[]": 101}, dialect=dialect)
        )
        assert data
        for member in data:
            assert 101 in await demo_services(api, member["id"])
            assert member["bookable"] is True
            assert member["seance_date"] >= "2026-12-01"
            assert member["seances"]
            weight_type = str if dialect is Dialect.YCLIENTS else int
            assert isinstance(member["weight"], weight_type)

    async def test_datetime_filter_drops_busy_members(self, api: Api, run_in_session: Any) -> None:
        slots = ok(await api.get(f"/book_times/{BERLIN}/{LENA}/{DAY}", params={"service_ids": 101}))
        moment = datetime.fromisoformat(slots[0]["datetime"])
        at = moment.strftime("%Y-%m-%dT%H:%M")
        params = {"service_ids": 101, "datetime": at}
        assert LENA in {m["id"] for m in ok(await api.get(f"/book_staff/{BERLIN}", params=params))}
        await add_record(run_in_session, LENA, moment, 30)
        assert LENA not in {
            m["id"] for m in ok(await api.get(f"/book_staff/{BERLIN}", params=params))
        }

    async def test_without_seances(self, api: Api) -> None:
        data = ok(await api.get(f"/book_staff/{BERLIN}", params={"without_seances": 1}))
        assert data
        assert all(member["seances"] == [] for member in data)

    @pytest.mark.parametrize(("flag", "empty"), [("true", True), ("True", True), ("false", False)])
    async def test_without_seances_in_every_boolean_spelling(
        self, api: Api, flag: str, empty: bool
    ) -> None:
        data = ok(await api.get(f"/book_staff/{BERLIN}", params={"without_seances": flag}))
        assert data
        assert any(member["seances"] for member in data) is not empty


@pytest.mark.usefixtures("demo")
class TestBookStaffSeances:
    async def test_nearest_day(self, api: Api) -> None:
        data = ok(
            await api.get(f"/book_staff_seances/{BERLIN}/{MIRA}/", params={"service_ids": 104})
        )
        assert data["seance_date"] == "2026-12-01"
        assert data["seances"]
        later = ok(
            await api.get(
                f"/book_staff_seances/{BERLIN}/{MIRA}",
                params={"service_ids": 104, "datetime": "2026-12-05T09:00"},
            )
        )
        assert later["seance_date"] == "2026-12-07", "Mira does not work at weekends"


@pytest.mark.usefixtures("demo")
class TestBookServicesFilters:
    async def test_datetime_and_chosen_services(self, api: Api, run_in_session: Any) -> None:
        slots = ok(await api.get(f"/book_times/{BERLIN}/{LENA}/{DAY}", params={"service_ids": 101}))
        at = datetime.fromisoformat(slots[0]["datetime"]).strftime("%Y-%m-%dT%H:%M")
        params: dict[str, Any] = {"staff_id": LENA, "datetime": at}
        offered = {
            s["id"]
            for s in ok(await api.get(f"/book_services/{BERLIN}", params=params))["services"]
        }
        assert 101 in offered
        assert offered <= set(await demo_services(api, LENA))
        await add_record(run_in_session, LENA, datetime.fromisoformat(slots[0]["datetime"]), 30)
        after = ok(await api.get(f"/book_services/{BERLIN}", params=params))
        assert after["services"] == []
        assert after["category"] == []


DST_FILE: dict[str, Any] = {
    "version": 1,
    "locations": [
        {
            "id": 9000 + index,
            "title": f"Night clinic {zone}",
            "timezone": zone,
            "booking": {"slot_step": "30m", "horizon_days": 400},
            "categories": [{"id": 9100 + index, "title": "Care"}],
            "services": [
                {"id": 9200 + index, "title": "Check", "category": 9100 + index, "duration": "30m"}
            ],
            "staff": [
                {
                    "id": 9300 + index,
                    "name": "Night nurse",
                    "services": [9200 + index],
                    "schedule": {"weekly": {"sun": ["00:00-06:00"]}},
                }
            ],
        }
        for index, zone in enumerate(["Europe/Berlin", "America/New_York"])
    ],
}


class TestDaylightSaving:
    @pytest.fixture(autouse=True)
    def frozen_clock(self) -> Iterator[None]:
        with time_machine.travel(datetime(2026, 1, 5, tzinfo=UTC), tick=False):
            yield

    @pytest.fixture
    async def night_clinics(self, run_in_session: Any) -> None:
        async def work(session: AsyncSession) -> None:
            document.check(DST_FILE)
            await loader.load(session, DST_FILE)

        await run_in_session(work)

    @pytest.mark.usefixtures("night_clinics")
    @pytest.mark.parametrize(
        ("location", "day", "offsets"),
        [
            (9000, "2026-03-29", ("+01:00", "+02:00")),
            (9001, "2026-03-08", ("-05:00", "-04:00")),
        ],
    )
    async def test_spring_forward_never_offers_missing_times(
        self, api: Api, location: int, day: str, offsets: tuple[str, str]
    ) -> None:
        data = ok(
            await api.get(
                f"/book_times/{location}/0/{day}", params={"service_ids": 9200 + location - 9000}
            )
        )
        assert times_of(data) == [
            "00:00",
            "00:30",
            "01:00",
            "01:30",
            "03:00",
            "03:30",
            "04:00",
            "04:30",
            "05:00",
            "05:30",
        ]
        assert [slot["datetime"][-6:] for slot in data] == [offsets[0]] * 4 + [offsets[1]] * 6
        instants = [datetime.fromisoformat(slot["datetime"]) for slot in data]
        assert instants[4] - instants[3] == timedelta(minutes=30), (
            "01:30 then 03:00 is 30 real minutes"
        )

    @pytest.mark.usefixtures("night_clinics")
    @pytest.mark.parametrize(
        ("location", "day", "offsets"),
        [
            (9000, "2026-10-25", ("+02:00", "+01:00")),
            (9001, "2026-11-01", ("-04:00", "-05:00")),
        ],
    )
    async def test_fall_back_offers_both_instants_with_their_offsets(
        self, api: Api, location: int, day: str, offsets: tuple[str, str]
    ) -> None:
        data = ok(
            await api.get(
                f"/book_times/{location}/0/{day}", params={"service_ids": 9200 + location - 9000}
            )
        )
        repeated = "02:00" if location == 9000 else "01:00"
        twice = [slot for slot in data if slot["time"] == repeated]
        assert [slot["datetime"][-6:] for slot in twice] == list(offsets)
        instants = [datetime.fromisoformat(slot["datetime"]) for slot in data]
        assert instants == sorted(set(instants))
        assert len(data) == 14, "six wall-clock hours hold seven real hours of 30-minute slots"

    @pytest.mark.usefixtures("night_clinics")
    async def test_missing_local_time_in_a_filter_is_422(self, api: Api) -> None:
        failed(await api.get("/book_staff/9000", params={"datetime": "2026-03-29T02:30"}), 422)


@pytest.mark.usefixtures("demo")
class TestHostileParameters:
    @pytest.mark.parametrize(
        "value",
        [
            "9999-12-31T23:00",
            "0001-01-01T00:00",
            "999999999999",
            "2026-12-03T25:00",
            "2026-12-03T10:00+99:00",
            "-1",
            "２０２６-12-03T10:00",
            "x" * 40,
        ],
    )
    async def test_datetime_filters_never_fail_the_server(self, api: Api, value: str) -> None:
        for path in (
            f"/book_staff/{BERLIN}",
            f"/book_staff_seances/{BERLIN}/0",
            f"/book_services/{BERLIN}",
        ):
            response = await api.get(path, params={"datetime": value})
            assert response.status_code in {200, 422}, (path, response.text)

    @pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "2026-1-1", "２０２６-12-03"])
    async def test_date_parameters_never_fail_the_server(self, api: Api, value: str) -> None:
        failed(await api.get(f"/book_times/{BERLIN}/0/{value}"), 422)
        failed(await api.get(f"/book_dates/{BERLIN}", params={"date": value}), 422)
        failed(
            await api.get(f"/book_dates/{BERLIN}", params={"date_from": value, "date_to": value}),
            422,
        )
