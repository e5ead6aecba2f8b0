"""Each process caches a location's team and schedules: a change to them, by whoever makes it,
is seen by the very next request, in every process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest
import time_machine
from sqlalchemy import select, text

from openbooking.app import close_resources, create_app
from openbooking.business import document, loader
from openbooking.business.service import demo_path
from openbooking.kit.db import create_engine
from openbooking.kit.envelope import Dialect
from openbooking.models import Staff
from tests.availability.test_endpoints import BERLIN, DAY, LENA, MIRA, NOW, times_of
from tests.catalog.test_endpoints import failed, ok
from tests.conftest import Api

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.config import Settings

HAIRCUT = {"service_ids": 101}  # Lena: 45 minutes
LENAS_DAY = f"/book_times/{BERLIN}/{LENA}/{DAY}"  # Thursday: 11:00-20:00, break 15:00-15:30


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
async def admin(database_url: str) -> AsyncIterator[Callable[[str], Awaitable[None]]]:
    """Plain SQL through a connection of its own, as an administrator's would be."""
    engine = create_engine(database_url)

    async def run(statement: str) -> None:
        async with engine.begin() as connection:
            await connection.execute(text(statement))

    yield run
    await engine.dispose()


async def staff_of(api: Api, **params: Any) -> dict[int, dict[str, Any]]:
    data = ok(await api.get(f"/book_staff/{BERLIN}", params=params, dialect=Dialect.YCLIENTS))
    return {member["id"]: member for member in data}


@pytest.mark.usefixtures("demo")
class TestChangesMadeInTheDatabase:
    async def test_a_schedule_change(self, api: Api, admin: Any) -> None:
        assert times_of(ok(await api.get(LENAS_DAY, params=HAIRCUT)))[0] == "11:00"
        working = {"staff_id": LENA, "date": DAY}
        assert DAY in ok(await api.get(f"/book_dates/{BERLIN}", params=working))["working_dates"]
        await admin(
            f"UPDATE schedule_intervals SET start_second = 9 * 3600 "
            f"WHERE staff_id = {LENA} AND weekday = 3 AND start_second = 11 * 3600"
        )
        assert times_of(ok(await api.get(LENAS_DAY, params=HAIRCUT)))[0] == "09:00"
        await admin(f"DELETE FROM schedule_intervals WHERE staff_id = {LENA} AND weekday = 3")
        assert ok(await api.get(LENAS_DAY, params=HAIRCUT)) == []
        dates = ok(await api.get(f"/book_dates/{BERLIN}", params=working))
        assert DAY not in dates["working_dates"]

    async def test_a_dated_exception_and_a_day_off(self, api: Api, admin: Any) -> None:
        assert times_of(ok(await api.get(LENAS_DAY, params=HAIRCUT)))[-1] == "19:15"
        await admin(
            "INSERT INTO schedule_intervals (staff_id, weekday, date, start_second, end_second, "
            f"is_break) VALUES ({LENA}, NULL, '{DAY}', 8 * 3600, 10 * 3600, false)"
        )
        times = times_of(ok(await api.get(LENAS_DAY, params=HAIRCUT)))
        assert (times[0], times[-1]) == ("08:00", "09:15")
        await admin(f"INSERT INTO days_off (staff_id, date) VALUES ({LENA}, '{DAY}')")
        assert ok(await api.get(LENAS_DAY, params=HAIRCUT)) == []
        seances = f"/book_staff_seances/{BERLIN}/{LENA}"
        at = {**HAIRCUT, "datetime": f"{DAY}T08:00"}
        assert ok(await api.get(seances, params=at))["seance_date"] == "2026-12-04"

    async def test_a_members_own_length_and_a_service(self, api: Api, admin: Any) -> None:
        assert {s["seance_length"] for s in ok(await api.get(LENAS_DAY, params=HAIRCUT))} == {
            45 * 60
        }
        await admin(
            "UPDATE staff_services SET duration_seconds = 3600 "
            f"WHERE staff_id = {LENA} AND service_id = 101"
        )
        assert {s["seance_length"] for s in ok(await api.get(LENAS_DAY, params=HAIRCUT))} == {3600}
        await admin("UPDATE services SET active = false WHERE id = 101")
        assert ok(await api.get(LENAS_DAY, params=HAIRCUT)) == []
        assert await staff_of(api, **HAIRCUT) == {}

    async def test_members_and_their_positions(self, api: Api, admin: Any) -> None:
        before = await staff_of(api)
        assert before[LENA]["position"]["title"] == "Senior Stylist"
        await admin("UPDATE positions SET title = 'Creative Director' WHERE id = 51")
        assert (await staff_of(api))[LENA]["position"]["title"] == "Creative Director"
        await admin(f"UPDATE staff SET bookable = false WHERE id = {LENA}")
        assert LENA not in await staff_of(api)
        failed(await api.get(LENAS_DAY, params=HAIRCUT), 404)

    async def test_the_locations_rules(self, api: Api, admin: Any) -> None:
        assert times_of(ok(await api.get(LENAS_DAY, params=HAIRCUT)))[:2] == ["11:00", "11:15"]
        await admin(f"UPDATE locations SET slot_step_seconds = 1800 WHERE id = {BERLIN}")
        assert times_of(ok(await api.get(LENAS_DAY, params=HAIRCUT)))[:2] == ["11:00", "11:30"]
        await admin(f"UPDATE locations SET horizon_days = 1 WHERE id = {BERLIN}")
        assert ok(await api.get(LENAS_DAY, params=HAIRCUT)) == []
        await admin(f"UPDATE locations SET deleted = true WHERE id = {BERLIN}")
        failed(await api.get(LENAS_DAY, params=HAIRCUT), 404)

    async def test_an_orm_edit_in_another_session(self, api: Api, run_in_session: Any) -> None:
        assert (await staff_of(api))[MIRA]["name"] == "Mira Schulz"

        async def rename(session: AsyncSession) -> None:
            mira = await session.scalar(select(Staff).where(Staff.id == MIRA))
            assert mira is not None
            mira.name = "Mira Schulz-Wendt"

        await run_in_session(rename)
        assert (await staff_of(api))[MIRA]["name"] == "Mira Schulz-Wendt"

    async def test_a_reload_of_the_business_file(self, api: Api, run_in_session: Any) -> None:
        assert times_of(ok(await api.get(LENAS_DAY, params=HAIRCUT)))[0] == "11:00"
        data = document.read(demo_path())
        lena = data["locations"][0]["staff"][0]
        assert lena["id"] == LENA
        lena["schedule"]["weekly"]["thu"] = ["07:00-10:00"]

        async def reload(session: AsyncSession) -> None:
            await loader.load(session, data)

        await run_in_session(reload)
        times = times_of(ok(await api.get(LENAS_DAY, params=HAIRCUT)))
        assert (times[0], times[-1]) == ("07:00", "09:15")

    async def test_without_the_version_row_nothing_is_cached(self, api: Api, admin: Any) -> None:
        await admin("DELETE FROM catalog_version")
        assert times_of(ok(await api.get(LENAS_DAY, params=HAIRCUT)))[0] == "11:00"
        await admin(f"DELETE FROM schedule_intervals WHERE staff_id = {LENA} AND weekday = 3")
        assert ok(await api.get(LENAS_DAY, params=HAIRCUT)) == []


@pytest.mark.usefixtures("demo")
async def test_two_processes_on_one_database_both_see_a_change(
    api: Api, settings: Settings, admin: Any
) -> None:
    second: FastAPI = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            other = Api(client, api.token)
            for each in (api, other):
                assert times_of(ok(await each.get(LENAS_DAY, params=HAIRCUT)))[0] == "11:00"
            await admin(f"INSERT INTO days_off (staff_id, date) VALUES ({LENA}, '{DAY}')")
            for each in (api, other):
                assert ok(await each.get(LENAS_DAY, params=HAIRCUT)) == []
    finally:
        await close_resources(second)


@pytest.mark.usefixtures("demo")
async def test_checking_appointments_leaves_later_answers_alone(
    api: Api, client: httpx.AsyncClient
) -> None:
    """book_check counts earlier appointments of its request as taken; that stays its own."""
    before = ok(await api.get(LENAS_DAY, params=HAIRCUT))
    first, second = (slot["datetime"] for slot in before[:2])
    appointments = [
        {"id": index, "services": [101], "staff_id": LENA, "datetime": start}
        for index, start in enumerate((first, second), start=1)
    ]
    response = await client.post(
        f"/api/v1/book_check/{BERLIN}",
        json={"appointments": appointments},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 422, "the second overlaps the first"
    assert ok(await api.get(LENAS_DAY, params=HAIRCUT)) == before
