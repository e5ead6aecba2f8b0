"""book_check, book_record, reading, rescheduling and cancelling, through HTTP."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from sqlalchemy.engine import make_url

from openbooking.kit import db
from openbooking.kit.envelope import Dialect
from tests.bookings.helpers import (
    CAMILLE,
    NOW,
    NY_PHONE,
    error,
    ny_booking,
    ny_service,
    overlapping_pairs,
    record_count,
    slots,
    user_token,
)
from tests.conftest import MEDIA_TYPES
from tests.test_reference_schemas import assert_valid, response_schema
from tests.verification.conftest import BERLIN, NEW_YORK, PHONE, Customer, code_in

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from openbooking.config import Settings

pytestmark = pytest.mark.usefixtures("clock")


@pytest.mark.usefixtures("demo")
class TestBookCheck:
    async def test_free_slot_is_201(self, customer: Customer) -> None:
        service = await ny_service(customer)
        when = (await slots(customer, NEW_YORK, CAMILLE, service))[0]
        body = {
            "appointments": [
                {"id": 7, "services": [service], "staff_id": CAMILLE, "datetime": when}
            ]
        }
        response = await customer.post(f"/book_check/{NEW_YORK}", body)
        assert response.status_code == 201
        assert response.json() == {"success": True, "data": None, "meta": {"message": "Created"}}
        bare = await customer.post(f"/book_check/{NEW_YORK}", body["appointments"])
        assert bare.status_code == 201

    async def test_error_codes_name_the_appointment(self, customer: Customer) -> None:
        service = await ny_service(customer)
        first, second = (await slots(customer, NEW_YORK, CAMILLE, service))[:2]
        no_services = {
            "appointments": [{"id": 3, "services": [], "staff_id": CAMILLE, "datetime": first}]
        }
        assert (
            error(await customer.post(f"/book_check/{NEW_YORK}", no_services), 422, 422)["id"] == 3
        )
        berlin_service = {
            "appointments": [{"id": 4, "services": [101], "staff_id": CAMILLE, "datetime": first}]
        }
        assert (
            error(await customer.post(f"/book_check/{NEW_YORK}", berlin_service), 422, 438)["id"]
            == 4
        )
        night = first[:11] + "03:00:00" + first[19:]
        closed = {
            "appointments": [
                {"id": 5, "services": [service], "staff_id": CAMILLE, "datetime": night}
            ]
        }
        assert error(await customer.post(f"/book_check/{NEW_YORK}", closed), 422, 433)["id"] == 5
        anyone = {
            "appointments": [{"id": 6, "services": [service], "staff_id": 0, "datetime": night}]
        }
        assert error(await customer.post(f"/book_check/{NEW_YORK}", anyone), 422, 436)["id"] == 6
        overlap = {
            "appointments": [
                {"id": 1, "services": [service], "staff_id": CAMILLE, "datetime": first},
                {"id": 2, "services": [service], "staff_id": CAMILLE, "datetime": second},
            ]
        }
        assert error(await customer.post(f"/book_check/{NEW_YORK}", overlap), 422, 437)["id"] == 2

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"appointments": "x"},
            {"appointments": [1]},
            {"appointments": [{"datetime": "tomorrow", "services": [1]}]},
            [{"services": [1], "staff_id": "a", "datetime": "2026-12-03T10:00:00-05:00"}],
        ],
    )
    async def test_malformed_requests_are_422(self, customer: Customer, body: Any) -> None:
        response = await customer.post(f"/book_check/{NEW_YORK}", body)
        assert response.status_code == 422
        assert response.json()["success"] is False


@pytest.mark.usefixtures("demo")
class TestBookRecord:
    async def test_booking_blocks_the_slot_and_reads_back(self, customer: Customer) -> None:
        service = await ny_service(customer)
        when = (await slots(customer, NEW_YORK, CAMILLE, service))[0]
        response = await customer.post(
            f"/book_record/{NEW_YORK}", ny_booking(service, when, comment="window seat")
        )
        assert response.status_code == 201, response.text
        (item,) = response.json()["data"]
        assert item["id"] == 1
        assert len(item["record_hash"]) == 32
        assert when not in await slots(customer, NEW_YORK, CAMILLE, service)
        read = await customer.get(
            f"/book_record/{NEW_YORK}/{item['record_id']}/{item['record_hash']}"
        )
        assert read.status_code == 200
        record = read.json()["data"]
        assert record["services"][0]["id"] == service
        assert record["staff"]["id"] == CAMILLE
        assert record["comment"] == "window seat"
        assert record["deleted"] is False
        assert record["master_requested"] is True
        assert datetime.strptime(
            record["datetime"], "%Y-%m-%dT%H:%M:%S%z"
        ) == datetime.fromisoformat(when)

    async def test_what_is_wrong_first_is_answered(self, customer: Customer) -> None:
        # The body is judged before the user token, and the token before the booking itself.
        path = f"/book_record/{NEW_YORK}"
        bad_body = await customer.post(path, {"phone": NY_PHONE, "appointments": []}, user="no")
        assert bad_body.status_code == 422
        assert bad_body.json()["meta"]["errors"][0]["field"] == "appointments"
        service = await ny_service(customer)
        when = (await slots(customer, NEW_YORK, CAMILLE, service))[0]
        bad_token = await customer.post(path, ny_booking(service, when), user="no")
        assert bad_token.status_code == 401
        unknown = await customer.post("/book_record/999999", ny_booking(service, when), user="no")
        assert unknown.status_code == 401
        assert when in await slots(customer, NEW_YORK, CAMILLE, service)

    async def test_any_member_is_assigned(self, customer: Customer) -> None:
        service = await ny_service(customer)
        when = (await slots(customer, NEW_YORK, 0, service))[0]
        response = await customer.post(
            f"/book_record/{NEW_YORK}", ny_booking(service, when, staff=0)
        )
        assert response.status_code == 201, response.text
        (item,) = response.json()["data"]
        record = (
            await customer.get(f"/book_record/{NEW_YORK}/{item['record_id']}/{item['record_hash']}")
        ).json()["data"]
        assert record["master_requested"] is False

    @pytest.mark.parametrize(
        ("change", "status", "code"),
        [
            ({"phone": "not a phone"}, 422, 431),
            ({"fullname": ""}, 422, 435),
            # Names that show nothing: fillers, a grapheme joiner, a lone mark.
            ({"fullname": "\u3164"}, 422, 435),
            ({"fullname": "\u115f\u3164 \u115f"}, 422, 435),
            ({"fullname": "\u034f\u034f"}, 422, 435),
            ({"fullname": "\u0301"}, 422, 435),
        ],
    )
    async def test_contact_errors(
        self, customer: Customer, change: dict[str, Any], status: int, code: int
    ) -> None:
        service = await ny_service(customer)
        when = (await slots(customer, NEW_YORK, CAMILLE, service))[0]
        error(
            await customer.post(
                f"/book_record/{NEW_YORK}", {**ny_booking(service, when), **change}
            ),
            status,
            code,
        )

    async def test_a_name_of_stacked_marks_is_refused(self, customer: Customer) -> None:
        service = await ny_service(customer)
        when = (await slots(customer, NEW_YORK, CAMILLE, service))[0]
        zalgo = "Z" + "\u0301" * 250
        response = await customer.post(
            f"/book_record/{NEW_YORK}", {**ny_booking(service, when), "fullname": zalgo}
        )
        assert response.status_code == 422, response.text
        assert response.json()["meta"]["errors"][0]["field"] == "fullname"
        ok = await customer.post(
            f"/book_record/{NEW_YORK}", {**ny_booking(service, when), "fullname": "Nguyễn Thị Ánh"}
        )
        assert ok.status_code == 201, ok.text

    async def test_required_email_names_the_field(self, customer: Customer) -> None:
        service = await ny_service(customer)
        when = (await slots(customer, NEW_YORK, CAMILLE, service))[0]
        body = ny_booking(service, when)
        del body["email"]
        response = await customer.post(f"/book_record/{NEW_YORK}", body)
        assert response.status_code == 422
        assert response.json()["meta"]["errors"][0]["field"] == "email"

    async def test_blacklisted_phone_is_403_434(self, customer: Customer) -> None:
        when = (await slots(customer, BERLIN, 0, 101))[0]
        body = {
            "phone": "+493023125999",
            "fullname": "Blocked",
            "code": "123456",
            "appointments": [{"id": 1, "services": [101], "staff_id": 0, "datetime": when}],
        }
        error(await customer.post(f"/book_record/{BERLIN}", body), 403, 434)

    async def test_phone_confirmation_needs_the_sms_code(
        self, customer: Customer, outbox: Any
    ) -> None:
        when = (await slots(customer, BERLIN, 0, 101))[0]
        body: dict[str, Any] = {
            "phone": PHONE,
            "fullname": "Ada",
            "appointments": [{"id": 1, "services": [101], "staff_id": 0, "datetime": when}],
        }
        error(await customer.post(f"/book_record/{BERLIN}", body), 422, 432)
        error(await customer.post(f"/book_record/{BERLIN}", {**body, "code": "000000"}), 422, 432)
        await customer.post(f"/book_code/{BERLIN}", {"phone": PHONE})
        code = code_in(outbox(PHONE)[-1])
        assert (
            await customer.post(f"/book_record/{BERLIN}", {**body, "code": code})
        ).status_code == 201

    async def test_a_logged_in_customer_needs_no_code(
        self, customer: Customer, outbox: Any
    ) -> None:
        token = await user_token(customer, outbox)
        when = (await slots(customer, BERLIN, 0, 101))[0]
        body = {
            "phone": PHONE,
            "fullname": "Ada",
            "appointments": [{"id": 1, "services": [101], "staff_id": 0, "datetime": when}],
        }
        assert (await customer.post(f"/book_record/{BERLIN}", body, user=token)).status_code == 201
        mine = await customer.get_as("/user/records/0", token)
        assert mine.status_code == 201
        assert [r["company"]["id"] for r in mine.json()["data"]] == [BERLIN]

    async def test_several_appointments_are_all_or_nothing(
        self, customer: Customer, run_in_session: Any
    ) -> None:
        service = await ny_service(customer)
        free = await slots(customer, NEW_YORK, CAMILLE, service)
        body = ny_booking(service, free[0])
        body["appointments"].append(
            {
                "id": 2,
                "services": [service],
                "staff_id": CAMILLE,
                "datetime": "2026-12-03T03:00:00-05:00",
            }
        )
        error(await customer.post(f"/book_record/{NEW_YORK}", body), 422, 433)
        assert await run_in_session(record_count) == 0


@pytest.mark.usefixtures("demo")
class TestNoDoubleBooking:
    async def test_t20_twenty_clients_one_slot(
        self, customer: Customer, run_in_session: Any
    ) -> None:
        service = await ny_service(customer)
        when = (await slots(customer, NEW_YORK, CAMILLE, service))[0]
        answers = await asyncio.gather(
            *(
                customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, when))
                for _ in range(20)
            )
        )
        statuses = [answer.status_code for answer in answers]
        assert statuses.count(201) == 1, statuses
        assert statuses.count(422) == 19
        assert all(
            a.json()["meta"]["errors"][0]["code"] == 433 for a in answers if a.status_code == 422
        )
        assert await run_in_session(overlapping_pairs) == []

    async def test_t21_partial_overlaps(self, customer: Customer, run_in_session: Any) -> None:
        """A 60-minute and a 2-hour visit, starting at different times, racing for one member."""
        services = (
            await customer.get(f"/book_services/{NEW_YORK}", params={"staff_id": CAMILLE})
        ).json()["data"]["services"]
        long_one = max(services, key=lambda s: s["seance_length"])
        short_one = min(services, key=lambda s: s["seance_length"])
        starts = await slots(customer, NEW_YORK, CAMILLE, long_one["id"])
        later = (datetime.fromisoformat(starts[0]) + timedelta(minutes=30)).isoformat()
        bodies = [ny_booking(long_one["id"], starts[0]), ny_booking(short_one["id"], later)] * 5
        answers = await asyncio.gather(
            *(customer.post(f"/book_record/{NEW_YORK}", b) for b in bodies)
        )
        assert [a.status_code for a in answers].count(201) == 1
        assert {a.status_code for a in answers} == {201, 422}
        assert await run_in_session(overlapping_pairs) == []

    async def test_a_visit_meets_the_records_on_either_side(
        self, customer: Customer, run_in_session: Any
    ) -> None:
        """A booking reads only the records its visit could touch: one that began before it and
        runs into it, and one that begins before it ends, are both in the way; records that
        end when it starts, or start when it ends, are not."""
        services = (
            await customer.get(f"/book_services/{NEW_YORK}", params={"staff_id": CAMILLE})
        ).json()["data"]["services"]
        half_hour = next(s["id"] for s in services if s["seance_length"] == 1800)
        two_hours = next(s["id"] for s in services if s["seance_length"] == 7200)
        short = {
            datetime.fromisoformat(t) for t in await slots(customer, NEW_YORK, CAMILLE, half_hour)
        }
        long = {
            datetime.fromisoformat(t) for t in await slots(customer, NEW_YORK, CAMILLE, two_hours)
        }
        minutes = timedelta(minutes=1)
        at = min(
            t
            for t in short
            if {t - 120 * minutes, t - 60 * minutes} <= long and t + 30 * minutes in short
        )

        async def book(service: int, start: datetime) -> httpx.Response:
            body = ny_booking(service, start.isoformat())
            return await customer.post(f"/book_record/{NEW_YORK}", body)

        assert (await book(half_hour, at)).status_code == 201
        error(await book(two_hours, at - 60 * minutes), 422, 433)  # the record starts within
        assert (await book(two_hours, at - 120 * minutes)).status_code == 201  # ends at its start
        error(await book(half_hour, at - 90 * minutes), 422, 433)  # that record runs into it
        assert (await book(half_hour, at + 30 * minutes)).status_code == 201  # starts at its end
        assert await run_in_session(overlapping_pairs) == []


@pytest.mark.usefixtures("demo")
class TestAccessToRecords:
    async def booked(
        self, customer: Customer, index: int = 0, phone: str = NY_PHONE
    ) -> dict[str, Any]:
        service = await ny_service(customer)
        when = (await slots(customer, NEW_YORK, CAMILLE, service))[index]
        response = await customer.post(
            f"/book_record/{NEW_YORK}", {**ny_booking(service, when), "phone": phone}
        )
        assert response.status_code == 201, response.text
        return dict(response.json()["data"][0])

    async def test_t19_a_hash_opens_only_its_record(self, customer: Customer) -> None:
        mine = await self.booked(customer, 0)
        theirs = await self.booked(customer, 4)
        h = mine["record_hash"]
        for bad in (theirs["record_hash"], h.upper(), h[:-1], h + "0", "0" * 32):
            response = await customer.get(f"/user/records/{mine['record_id']}/{bad}")
            assert response.status_code == 404, bad
        ok = await customer.get(f"/user/records/{mine['record_id']}/{h}")
        assert ok.status_code == 201
        assert [r["id"] for r in ok.json()["data"]] == [mine["record_id"]]

    async def test_t19_a_token_opens_only_its_owners_records(
        self, customer: Customer, outbox: Any
    ) -> None:
        mine = await self.booked(customer, 0, phone="+4915112345678")
        theirs = await self.booked(customer, 4)
        token = await user_token(customer, outbox)
        assert (
            await customer.get_as(f"/book_record/{NEW_YORK}/{mine['record_id']}", token)
        ).status_code == 200
        assert (
            await customer.get_as(f"/book_record/{NEW_YORK}/{theirs['record_id']}", token)
        ).status_code == 404
        assert (
            await customer.send("DELETE", f"/user/records/{theirs['record_id']}", None, user=token)
        ).status_code == 404
        listed = (await customer.get_as("/user/records/0", token)).json()["data"]
        assert [r["id"] for r in listed] == [mine["record_id"]]

    async def test_cancel_by_hash_frees_the_slot(self, customer: Customer) -> None:
        booked = await self.booked(customer)
        path = f"/user/records/{booked['record_id']}/{booked['record_hash']}"
        response = await customer.send("DELETE", path, None)
        assert response.status_code == 200
        assert response.json() == {"success": True, "data": None, "meta": []}
        again = (await customer.get(path)).json()["data"][0]
        assert again["deleted"] is True

    async def test_bookings_and_cancellations_are_logged_without_secrets(
        self, customer: Customer, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger="openbooking.bookings")
        booked = await self.booked(customer)
        path = f"/user/records/{booked['record_id']}/{booked['record_hash']}"
        assert (await customer.send("DELETE", path, None)).status_code == 200
        events = [r.getMessage() for r in caplog.records if r.name == "openbooking.bookings"]
        assert f"booked record {booked['record_id']} at location {NEW_YORK}" in " ".join(events)
        assert f"cancelled record {booked['record_id']} at location {NEW_YORK}" in events
        assert not [e for e in events if booked["record_hash"] in e or NY_PHONE[2:] in e]

    async def test_cancel_too_late_is_refused(
        self, customer: Customer, clock: time_machine.Traveller
    ) -> None:
        booked = await self.booked(customer)
        record = (
            await customer.get(f"/user/records/{booked['record_id']}/{booked['record_hash']}")
        ).json()["data"][0]
        start = datetime.strptime(record["datetime"], "%Y-%m-%dT%H:%M:%S%z")
        clock.move_to(start - timedelta(minutes=30))  # New York forbids the last hour
        response = await customer.send(
            "DELETE", f"/user/records/{booked['record_id']}/{booked['record_hash']}", None
        )
        assert response.status_code == 403
        assert response.json()["success"] is False

    async def test_reschedule(self, customer: Customer, outbox: Any) -> None:
        service = await ny_service(customer)
        free = await slots(customer, NEW_YORK, CAMILLE, service)
        token = await user_token(customer, outbox)
        booked = (
            await customer.post(
                f"/book_record/{NEW_YORK}", {**ny_booking(service, free[0]), "phone": PHONE}
            )
        ).json()["data"][0]
        other = (
            await customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, free[4]))
        ).json()["data"][0]
        assert other["record_id"]
        path = f"/book_record/{NEW_YORK}/{booked['record_id']}"
        taken = await customer.put(path, {"datetime": free[4]}, user=token)
        error(taken, 422, 433)
        moved = await customer.put(
            path, {"datetime": free[8], "comment": "later please"}, user=token
        )
        assert moved.status_code == 200, moved.text
        data = moved.json()["data"]
        assert datetime.strptime(data["datetime"], "%Y-%m-%dT%H:%M:%S%z") == datetime.fromisoformat(
            free[8]
        )
        assert data["comment"] == "later please"
        assert free[0] in await slots(customer, NEW_YORK, CAMILLE, service)
        assert (await customer.put(path, {"datetime": free[8]})).status_code == 401


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("dialect", [Dialect.ALTEGIO, Dialect.YCLIENTS])
async def test_full_journey(customer: Customer, outbox: Any, dialect: Dialect) -> None:
    """bookform → services → staff → dates → times → book_code → book_check → book_record →
    read by hash → user/auth → user records → reschedule → cancel."""
    headers = {"Accept": MEDIA_TYPES[dialect]}

    async def get(path: str, params: Any = None, user: str | None = None) -> Any:
        auth = f"Bearer {customer.token}" + (f", User {user}" if user else "")
        response = await customer.client.get(
            f"/api/v1{path}", params=params, headers={**headers, "Authorization": auth}
        )
        assert response.status_code in {200, 201}, (path, response.text)
        return response.json()["data"]

    async def send(method: str, path: str, body: Any, user: str | None = None) -> httpx.Response:
        auth = f"Bearer {customer.token}" + (f", User {user}" if user else "")
        return await customer.client.request(
            method, f"/api/v1{path}", json=body, headers={**headers, "Authorization": auth}
        )

    form = await get("/bookform/1")
    location = form["company_id"]
    service = (await get(f"/book_services/{location}"))["services"][0]["id"]
    staff = (await get(f"/book_staff/{location}", {"service_ids[]": service}))[0]["id"]
    dates = await get(f"/book_dates/{location}", {"staff_id": staff, "service_ids": service})
    day = dates["booking_dates"][1]
    times = await get(f"/book_times/{location}/{staff}/{day}", {"service_ids": service})
    when = times[0]["datetime"]
    assert (
        await send("POST", f"/book_code/{location}", {"phone": PHONE, "fulname": "Ada"})
    ).status_code == 201
    code = code_in(outbox(PHONE)[-1])
    appointment = {"id": 1, "services": [service], "staff_id": staff, "datetime": when}
    assert (
        await send("POST", f"/book_check/{location}", {"appointments": [appointment]})
    ).status_code == 201
    booked = await send(
        "POST",
        f"/book_record/{location}",
        {"phone": PHONE, "fullname": "Ada", "code": code, "appointments": [appointment]},
    )
    assert booked.status_code == 201, booked.text
    item = booked.json()["data"][0]
    record = await get(f"/book_record/{location}/{item['record_id']}/{item['record_hash']}")
    assert record["id"] == item["record_id"]
    clock_free = await send("POST", f"/book_code/{location}", {"phone": PHONE})
    assert clock_free.status_code == 429  # the next code may be sent after the cool-down
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        assert (await send("POST", f"/book_code/{location}", {"phone": PHONE})).status_code == 201
        login = await send(
            "POST", "/user/auth", {"phone": PHONE, "code": code_in(outbox(PHONE)[-1])}
        )
        token = login.json()["data"]["user_token"]
        mine = await get(f"/user/records/{item['record_id']}", user=token)
        assert [r["id"] for r in mine] == [item["record_id"]]
        moved = await send(
            "PUT",
            f"/book_record/{location}/{item['record_id']}",
            {"datetime": times[4]["datetime"]},
            user=token,
        )
        assert moved.status_code == 200, moved.text
        cancelled = await send(
            "DELETE", f"/user/records/{item['record_id']}/{item['record_hash']}", None
        )
        assert cancelled.status_code == 200
        assert (await get(f"/user/records/{item['record_id']}", user=token))[0]["deleted"] is True


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("dialect", [Dialect.ALTEGIO, Dialect.YCLIENTS])
async def test_booking_answers_match_the_references(customer: Customer, dialect: Dialect) -> None:
    headers = {"Accept": MEDIA_TYPES[dialect], "Authorization": f"Bearer {customer.token}"}
    service = await ny_service(customer)
    when = (await slots(customer, NEW_YORK, CAMILLE, service))[0]
    created = await customer.client.post(
        f"/api/v1/book_record/{NEW_YORK}", json=ny_booking(service, when), headers=headers
    )
    assert created.status_code == 201
    item = created.json()["data"][0]
    read = await customer.client.get(
        f"/api/v1/book_record/{NEW_YORK}/{item['record_id']}/{item['record_hash']}", headers=headers
    )
    listed = await customer.client.get(
        f"/api/v1/user/records/{item['record_id']}/{item['record_hash']}", headers=headers
    )
    taken = await customer.client.post(
        f"/api/v1/book_check/{NEW_YORK}",
        json=ny_booking(service, when)["appointments"],
        headers=headers,
    )
    assert taken.status_code == 422
    if dialect is Dialect.ALTEGIO:
        assert_valid(
            created.json(), response_schema("altegio", "/book_record/{location_id}", "post", "201")
        )
        # Altegio documents the bare record; under the v2 envelope it is `data`.
        bare = response_schema(
            "altegio", "/book_record/{location_id}/{record_id}/{record_hash}", "get", "200"
        )
        assert_valid(read.json()["data"], bare)
        assert_valid(
            taken.json(), response_schema("altegio", "/book_check/{location_id}", "post", "422")
        )
    else:
        assert_valid(
            listed.json(),
            response_schema(
                "yclients", "/api/v1/user/records/{record_id}/{record_hash}", "get", "201"
            ),
        )
        assert_valid(
            taken.json(),
            response_schema("yclients", "/api/v1/book_check/{company_id}", "post", "422"),
        )


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite gives up on a held write lock after 0.1 s instead of 5 s (set before the app)."""
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 100)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_write_lock_held_too_long_is_503_not_500(
    short_busy_timeout: None, customer: Customer, settings: Settings
) -> None:
    service = await ny_service(customer)
    body = ny_booking(service, (await slots(customer, NEW_YORK, CAMILLE, service))[0])
    holder = sqlite3.connect(make_url(settings.database_url).database or "", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process writing for a long time
        busy = await customer.post(f"/book_record/{NEW_YORK}", body)
        assert busy.status_code == 503, busy.text
        assert busy.headers["retry-after"] == "1"
        assert busy.json()["success"] is False
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    assert (await customer.post(f"/book_record/{NEW_YORK}", body)).status_code == 201


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_writer_waiting_too_long_in_the_process_queue_is_503(
    short_busy_timeout: None, app: FastAPI, customer: Customer
) -> None:
    service = await ny_service(customer)
    free = await slots(customer, NEW_YORK, CAMILLE, service)
    async with app.state.sessionmaker() as writer:
        await db.begin_write(writer)  # a slow writer in this process
        busy = await customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, free[4]))
        assert busy.status_code == 503, busy.text
        assert busy.headers["retry-after"] == "1"
        await writer.rollback()  # the turn passes on
    assert (
        await customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, free[8]))
    ).status_code == 201


@pytest.fixture
def two_second_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 2000)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_queue_that_keeps_moving_serves_every_writer(
    two_second_busy_timeout: None, app: FastAPI, customer: Customer
) -> None:
    """Defect 7 of the typed-boundary issue: under load, legitimate concurrent writers got 503
    once their wait in the queue passed the busy timeout, although the queue kept moving."""
    service = await ny_service(customer)
    free = await slots(customer, NEW_YORK, CAMILLE, service)
    first, second = app.state.sessionmaker(), app.state.sessionmaker()
    await db.begin_write(first)  # a writer at work
    queued = asyncio.create_task(db.begin_write(second))  # and one waiting before ours
    await asyncio.sleep(0.1)
    ours = asyncio.create_task(
        customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, free[4]))
    )
    await asyncio.sleep(1.2)
    await first.rollback()  # the turn passes on, to `second`...
    await queued
    await asyncio.sleep(1.2)  # ...which holds it while our wait passes the busy timeout
    await second.rollback()
    booked = await ours
    assert booked.status_code == 201, booked.text
    await first.close()
    await second.close()
