"""The group-event endpoints on the demo: search, dates, date range, filters, booking seats,
and the seat records as appointments (read, cancel, reminders)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import update

from openbooking.kit.envelope import Dialect
from openbooking.models import EventSession
from openbooking.models.activities import SESSION_CANCELLED
from tests.bookings.helpers import error, user_token
from tests.test_reference_schemas import assert_valid, response_schema
from tests.verification.conftest import BERLIN, NEW_YORK, PHONE, Customer, code_in

if TYPE_CHECKING:
    import time_machine

BOTH = pytest.mark.parametrize("dialect", [Dialect.ALTEGIO, Dialect.YCLIENTS])
pytestmark = pytest.mark.usefixtures("frozen")

SEARCH = "/api/v1/activity/{company_id}/search/"
DATES_RANGE = "/api/v1/activity/{company_id}/search_dates_range/"
FILTERS = "/api/v1/activity/{company_id}/filters/"
BOOK_Y = "/api/v1/activity/{company_id}/{activity_id}/book"
BOOK_A = "/activity/{location_id}/{event_id}/book"
DECEMBER = {"from": "2026-12-01", "till": "2026-12-31"}
BERLIN_SATURDAYS = ["2026-12-05", "2026-12-12", "2026-12-19", "2026-12-26"]
NY_PHONE = "+12125550123"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True
    return body["data"]


async def sessions(customer: Customer, location: int, **params: Any) -> list[dict[str, Any]]:
    data = ok(await customer.get(f"/activity/{location}/search", params={**DECEMBER, **params}))
    return list(data)


async def ny_yoga(customer: Customer) -> dict[str, Any]:
    """The New York Sunday class of 2026-12-06."""
    found = await sessions(customer, NEW_YORK)
    return found[0]


def seat_body(phone: str = NY_PHONE, **extra: Any) -> dict[str, Any]:
    return {"fullname": "Grace Hopper", "phone": phone, "email": "grace@example.org", **extra}


class TestSearch:
    @BOTH
    async def test_the_weekly_class_in_its_local_time(
        self, customer: Customer, dialect: Dialect
    ) -> None:
        response = await customer.get(
            f"/activity/{BERLIN}/search", params=DECEMBER, dialect=dialect
        )
        data = ok(response)
        assert [item["date"][:10] for item in data] == BERLIN_SATURDAYS
        assert {item["date"][11:] for item in data} == {"10:00:00+01:00"}
        assert response.json()["meta"] == {"count": 4}
        first = data[0]
        assert first["capacity"] == 8
        assert first["records_count"] == 0
        assert first["length"] == 3600
        assert first["staff"]["id"] == first["staff_id"] == 203
        assert first["service"]["id"] == first["service_id"] == 116
        assert first["resource_instances"] == [
            {"id": 301, "title": "Courtyard studio", "resource_id": 301}
        ]
        assert [label["title"] for label in first["labels"]] == ["All levels"]
        assert_valid(response.json(), response_schema("yclients", SEARCH, "get", "200"))

    async def test_pages_and_the_total(self, customer: Customer) -> None:
        response = await customer.get(
            f"/activity/{BERLIN}/search/", params={**DECEMBER, "count": 3, "page": 2}
        )
        assert [item["date"][:10] for item in ok(response)] == BERLIN_SATURDAYS[3:]
        assert response.json()["meta"] == {"count": 4}

    async def test_filters(self, customer: Customer) -> None:
        assert await sessions(customer, BERLIN, **{"staff_ids[]": 201}) == []
        assert len(await sessions(customer, BERLIN, resource_ids="301")) == 4
        assert len(await sessions(customer, BERLIN, service_id=116)) == 4
        june = {"from": "2027-06-01", "till": "2027-06-30", "service_ids[]": [117]}
        (workshop,) = ok(await customer.get(f"/activity/{BERLIN}/search", params=june))
        assert workshop["date"] == "2027-06-19T14:00:00+02:00"
        assert workshop["service"]["price_min"] == 39

    @pytest.mark.parametrize(
        "params",
        [
            {"till": "2026-12-31"},
            {"from": "2026-12-01"},
            {**DECEMBER, "count": 301},
            {**DECEMBER, "page": 0},
            {"from": "2026-12-31", "till": "2026-12-01"},
            {"from": "2026-01-01", "till": "2028-01-01"},
            {"from": "December", "till": "2026-12-31"},
            {"from": "0001-01-01", "till": "0001-01-02"},
            {"from": "9999-12-30", "till": "9999-12-31"},
        ],
    )
    async def test_bad_queries_are_refused(self, customer: Customer, params: Any) -> None:
        response = await customer.get(f"/activity/{BERLIN}/search", params=params)
        assert response.status_code == 422, response.text
        assert response.json()["success"] is False

    async def test_unknown_location(self, customer: Customer) -> None:
        assert (await customer.get("/activity/999999/search", params=DECEMBER)).status_code == 404

    async def test_ids_no_row_can_have(self, customer: Customer) -> None:
        big = 2**31  # beyond the database's integer columns: refused, never a 500
        for response in (
            await customer.get(f"/activity/{big}/search", params=DECEMBER),
            await customer.get(f"/activity/{BERLIN}/search", params={**DECEMBER, "staff_ids": big}),
            await customer.post(f"/activity/{NEW_YORK}/{big}/book", seat_body()),
            await customer.post(f"/activity/{big}/1/book", seat_body()),
        ):
            assert response.status_code in (404, 422), response.text
            assert response.json()["success"] is False

    async def test_needs_the_partner_token(self, customer: Customer) -> None:
        response = await customer.client.get(f"/api/v1/activity/{BERLIN}/search", params=DECEMBER)
        assert response.status_code == 401


class TestSearchDates:
    @BOTH
    async def test_dates_with_sessions(self, customer: Customer, dialect: Dialect) -> None:
        response = await customer.get(
            f"/activity/{BERLIN}/search_dates/", params=DECEMBER, dialect=dialect
        )
        assert ok(response) == BERLIN_SATURDAYS
        assert response.json()["meta"] == []

    async def test_filtered(self, customer: Customer) -> None:
        params = {**DECEMBER, "staff_ids": "201"}
        assert ok(await customer.get(f"/activity/{BERLIN}/search_dates", params=params)) == []


class TestSearchDatesRange:
    @BOTH
    async def test_first_and_last(self, customer: Customer, dialect: Dialect) -> None:
        response = await customer.get(f"/activity/{BERLIN}/search_dates_range", dialect=dialect)
        assert ok(response) == {"min_date": "2026-12-05", "max_date": "2027-06-19"}
        assert_valid(response.json(), response_schema("yclients", DATES_RANGE, "get", "200"))

    async def test_none(self, customer: Customer) -> None:
        response = await customer.get(
            f"/activity/{BERLIN}/search_dates_range", params={"staff_ids[]": 202}
        )
        assert ok(response) == {"min_date": None, "max_date": None}


class TestFilters:
    @BOTH
    async def test_facets_with_counts(self, customer: Customer, dialect: Dialect) -> None:
        response = await customer.get(
            f"/activity/{BERLIN}/filters", params={"staff_ids[]": 203}, dialect=dialect
        )
        facets = {facet["code"]: facet["data"] for facet in ok(response)}
        assert response.json()["meta"] == {"count": 4}
        services = {item["id"]: item for item in facets["service"]}
        assert services[116]["is_disabled"] is False
        assert services[116]["count"] > 0
        assert services[117] == {
            "id": 117,
            "title": "Hair-braiding workshop",
            "is_disabled": True,
            "count": 0,
        }
        assert {item["id"] for item in facets["staff"]} == {201, 203}
        assert [item["id"] for item in facets["resource"]] == [301]
        assert [item["id"] for item in facets["service_category"]] == [16]
        assert_valid(response.json(), response_schema("yclients", FILTERS, "get", "200"))


class TestBook:
    @BOTH
    async def test_seats_are_a_record(
        self, customer: Customer, dialect: Dialect, outbox: Any
    ) -> None:
        session = await ny_yoga(customer)
        response = await customer.post(
            f"/activity/{NEW_YORK}/{session['id']}/book",
            seat_body(clients_count=2, notify_by_sms=2),
            headers={"Accept": "application/vnd.yclients.v2+json"}
            if dialect is Dialect.YCLIENTS
            else {},
        )
        booked = ok(response)
        assert set(booked) == {"id", "hash"}
        assert_valid(response.json(), response_schema("yclients", BOOK_Y, "post", "200"))
        assert_valid(response.json(), response_schema("altegio", BOOK_A, "post", "200"))
        assert (await ny_yoga(customer))["records_count"] == 2

        record = ok(await customer.get(f"/book_record/{NEW_YORK}/{booked['id']}/{booked['hash']}"))
        assert record["activity_id"] == session["id"]
        assert record["clients_count"] == 2
        assert record["datetime"] == "2026-12-06T10:00:00-0500"
        assert record["length"] == 3600
        assert [service["id"] for service in record["services"]] == [118]
        assert record["staff"]["id"] == 205
        listed = ok(
            await customer.get(f"/user/records/{booked['id']}/{booked['hash']}"), status=201
        )
        assert listed[0]["activity_id"] == session["id"]
        assert "confirmed" in outbox(NY_PHONE)[-1]["text"]

        cancelled = await customer.send(
            "DELETE", f"/user/records/{booked['id']}/{booked['hash']}", None
        )
        assert cancelled.status_code == 200, cancelled.text
        assert (await ny_yoga(customer))["records_count"] == 0

    async def test_a_phone_is_confirmed_by_code_where_the_location_asks(
        self, customer: Customer, outbox: Any
    ) -> None:
        (session, *_) = await sessions(customer, BERLIN)
        path = f"/activity/{BERLIN}/{session['id']}/book"
        error(await customer.post(path, seat_body(PHONE)), 422, 432)
        assert (await customer.post(f"/book_code/{BERLIN}", {"phone": PHONE})).status_code == 201
        code = code_in(outbox(PHONE)[-1])
        ok(await customer.post(path, seat_body(PHONE, code=code)))

    async def test_no_places_left(self, customer: Customer) -> None:
        session = await ny_yoga(customer)
        path = f"/activity/{NEW_YORK}/{session['id']}/book"
        ok(await customer.post(path, seat_body(clients_count=9)))
        detail = error(
            await customer.post(path, seat_body("+12125550124", clients_count=2)), 422, 441
        )
        assert "1 of 10" in detail["message"]
        ok(
            await customer.post(
                path, {**seat_body("+12125550124"), "appointments": [{"clients_count": 1}]}
            )
        )
        error(await customer.post(path, seat_body("+12125550125")), 422, 441)

    async def test_one_booking_per_phone(self, customer: Customer) -> None:
        session = await ny_yoga(customer)
        path = f"/activity/{NEW_YORK}/{session['id']}/book"
        ok(await customer.post(path, seat_body()))
        error(await customer.post(path, seat_body(clients_count=2)), 422, 443)

    async def test_a_started_session_cannot_be_booked(
        self, customer: Customer, frozen: time_machine.Traveller
    ) -> None:
        session = await ny_yoga(customer)
        frozen.move_to(datetime(2026, 12, 6, 15, 0, tzinfo=UTC))
        path = f"/activity/{NEW_YORK}/{session['id']}/book"
        error(await customer.post(path, seat_body()), 422, 442)

    async def test_a_cancelled_session_cannot_be_booked(
        self, customer: Customer, run_in_session: Any
    ) -> None:
        session = await ny_yoga(customer)

        async def cancel(db: Any) -> None:
            await db.execute(
                update(EventSession)
                .where(EventSession.id == session["id"])
                .values(status=SESSION_CANCELLED)
            )

        await run_in_session(cancel)
        path = f"/activity/{NEW_YORK}/{session['id']}/book"
        error(await customer.post(path, seat_body()), 422, 442)
        assert session["id"] not in {item["id"] for item in await sessions(customer, NEW_YORK)}

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"fullname": "Grace"}, 431),
            ({"phone": "12"}, 431),
            ({"phone": NY_PHONE}, 435),
            ({"phone": NY_PHONE, "fullname": "   "}, 435),
        ],
    )
    async def test_bad_customers(self, customer: Customer, body: Any, code: int) -> None:
        session = await ny_yoga(customer)
        error(await customer.post(f"/activity/{NEW_YORK}/{session['id']}/book", body), 422, code)

    @pytest.mark.parametrize("seats", [0, 101, "many", -1])
    async def test_bad_seat_counts(self, customer: Customer, seats: Any) -> None:
        session = await ny_yoga(customer)
        response = await customer.post(
            f"/activity/{NEW_YORK}/{session['id']}/book", seat_body(clients_count=seats)
        )
        assert response.status_code == 422, response.text

    async def test_unknown_session(self, customer: Customer) -> None:
        session = await ny_yoga(customer)
        assert (
            await customer.post(f"/activity/{NEW_YORK}/999999/book", seat_body())
        ).status_code == 404
        other = await customer.post(f"/activity/{BERLIN}/{session['id']}/book", seat_body())
        assert other.status_code == 404

    async def test_a_seat_is_not_moved(self, customer: Customer, outbox: Any) -> None:
        session = await ny_yoga(customer)
        path = f"/activity/{NEW_YORK}/{session['id']}/book"
        booked = ok(await customer.post(path, seat_body(PHONE)))
        token = await user_token(customer, outbox)
        moved = await customer.put(
            f"/book_record/{NEW_YORK}/{booked['id']}",
            {"datetime": "2026-12-13T10:00:00-05:00"},
            user=token,
        )
        assert moved.status_code == 403, moved.text


class TestReminders:
    async def test_the_reminder_of_a_seat(
        self, customer: Customer, frozen: time_machine.Traveller, app: Any, outbox: Any
    ) -> None:
        from openbooking.bookings.notify import send_due_reminders  # noqa: PLC0415

        session = await ny_yoga(customer)
        ok(
            await customer.post(
                f"/activity/{NEW_YORK}/{session['id']}/book", seat_body(notify_by_sms=2)
            )
        )
        frozen.move_to(datetime(2026, 12, 6, 13, 30, tzinfo=UTC))
        run = await send_due_reminders(app.state.sessionmaker, app.state.sms)
        assert (run.due, run.sent) == (1, 1)
        assert "reminder" in outbox(NY_PHONE)[-1]["text"]


class TestBusyTime:
    async def test_no_slot_overlaps_a_session(self, customer: Customer) -> None:
        response = await customer.get(
            f"/book_times/{BERLIN}/203/2026-12-05", params={"service_ids": 107}
        )
        times = [slot["time"] for slot in ok(response)]
        assert times
        assert times[0] == "11:00", "Tobias starts at 10:00 and leads the class until 11:00"

    async def test_booking_into_a_session_is_refused(self, customer: Customer) -> None:
        services = ok(await customer.get(f"/book_services/{NEW_YORK}", params={"staff_id": 205}))
        service = services["services"][0]["id"]
        body = {
            **seat_body(),
            "appointments": [
                {"id": 1, "services": [service], "staff_id": 205, "datetime": "2026-12-06T10:00"}
            ],
        }
        error(await customer.post(f"/book_record/{NEW_YORK}", body), 422, 433)
        check = await customer.post(
            f"/book_check/{NEW_YORK}", {"appointments": body["appointments"]}
        )
        error(check, 422, 433)

    async def test_book_staff_and_dates_count_the_session(self, customer: Customer) -> None:
        staff = ok(
            await customer.get(
                f"/book_staff/{BERLIN}", params={"datetime": "2026-12-05T10:00", "service_ids": 107}
            )
        )
        assert 203 not in {member["id"] for member in staff}
