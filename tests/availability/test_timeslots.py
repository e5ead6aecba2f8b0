"""`GET /company/{id}/settings/timeslots`: the grid `book_times` offers, per weekday."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from openbooking.kit.envelope import Dialect
from tests.test_reference_schemas import assert_valid, response_schema

if TYPE_CHECKING:
    from tests.conftest import Api

NEW_YORK = 1002
PATH = "/api/v1/company/{company_id}/settings/timeslots"


def hours(start: str, end: str, step: int = 1800) -> list[int]:
    """The starts from `start` up to `end` (both HH:MM, `end` included)."""

    def seconds(text: str) -> int:
        hh, mm = text.split(":")
        return int(hh) * 3600 + int(mm) * 60

    return list(range(seconds(start), seconds(end) + 1, step))


def reference_schema() -> dict[str, Any]:
    """YCLIENTS' schema, with `weekdays_settings` the array its example and every client read
    (the schema declares the item as the container: docs/api-compat.md)."""
    schema = response_schema("yclients", PATH, "get", "200")
    data = schema["properties"]["data"]["properties"]
    data["weekdays_settings"] = {"type": "array", "items": data["weekdays_settings"]}
    return schema


@pytest.mark.usefixtures("demo")
class TestTimeslots:
    @pytest.mark.parametrize("dialect", [Dialect.ALTEGIO, Dialect.YCLIENTS])
    async def test_the_grid_per_weekday(self, api: Api, dialect: Dialect) -> None:
        response = await api.get(f"/company/{NEW_YORK}/settings/timeslots", dialect=dialect)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["meta"] == {}
        assert_valid(body, reference_schema())
        data = body["data"]
        assert data["is_enabled"] is True
        assert data["dates_settings"] == []
        days = {day["weekday"]: day for day in data["weekdays_settings"]}
        assert sorted(days) == [1, 2, 3, 4, 5, 6, 7]
        # Monday: Priya alone, 09:00-12:30 and 13:00-17:00, on New York's 30-minute grid.
        monday = days[1]
        assert monday["timeslots"] == hours("09:00", "12:00") + hours("13:00", "16:30")
        assert monday["setting"] == {
            "grid_first_timeslot": 9 * 3600,
            "grid_last_timeslot": 16 * 3600 + 1800,
            "grid_display_step": 1800,
            "grid_nearest_timeslot_delay": 1800,
            "grid_base_type": "predefined",
            "is_grid_flexible": False,
        }
        # Tuesday: Camille, 10:00-19:00 with a break at 13:30-14:00.
        assert days[2]["timeslots"] == hours("10:00", "13:00") + hours("14:00", "18:30")

    async def test_book_times_offers_only_grid_times(self, api: Api) -> None:
        grid = (await api.get(f"/company/{NEW_YORK}/settings/timeslots")).json()["data"]
        seances = (await api.get(f"/book_staff_seances/{NEW_YORK}/204")).json()["data"]
        day = seances["seance_date"]  # Camille's nearest day with free time
        times = (await api.get(f"/book_times/{NEW_YORK}/0/{day}")).json()["data"]
        assert times
        weekday = date.fromisoformat(day).isoweekday()
        (starts,) = [d["timeslots"] for d in grid["weekdays_settings"] if d["weekday"] == weekday]
        for slot in times:
            hh, mm = slot["time"].split(":")
            assert int(hh) * 3600 + int(mm) * 60 in starts, slot

    async def test_unknown_location_and_trailing_slash(self, api: Api) -> None:
        assert (await api.get("/company/999999/settings/timeslots")).status_code == 404
        assert (await api.get("/company/abc/settings/timeslots")).status_code == 422
        slash = await api.get(f"/company/{NEW_YORK}/settings/timeslots/")
        assert slash.status_code == 200

    async def test_a_partner_token_is_needed(self, api: Api) -> None:
        response = await api.client.get(f"/api/v1/company/{NEW_YORK}/settings/timeslots")
        assert response.status_code == 401
