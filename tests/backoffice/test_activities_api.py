"""Group-event sessions through the B2B API (`/activity/{company_id}[/{activity_id}]`): made,
read, moved and cancelled by the location's managers, read by the member who leads them, refused
over other bookings and outside working hours, shown by the public search, kept by reloads."""

from __future__ import annotations

import asyncio
from typing import Any

from openbooking.business import document, loader
from openbooking.business.service import demo_path
from tests.backoffice.conftest import BERLIN, CAMILLE, DAY, NEW_YORK, PRIYA, Business, Caller
from tests.backoffice.test_business_api import service_of_camille, walk_in

SEAT = {"fullname": "Grace Hopper", "phone": "+12125550199", "email": "grace@example.org"}


async def make(caller: Caller, service: int, when: str = "14:00", **extra: Any) -> Any:
    body = {
        "date": f"{DAY}T{when}:00",
        "service_id": service,
        "staff_id": CAMILLE,
        "capacity": 4,
        "length": 3600,
        "force": False,
        **extra,
    }
    return await caller.call("POST", f"/activity/{NEW_YORK}", body)


async def book_seats(business: Business, session_id: int, seats: int) -> None:
    response = await business.as_("nobody").call(
        "POST", f"/activity/{NEW_YORK}/{session_id}/book", {**SEAT, "clients_count": seats}
    )
    assert response.status_code == 200, response.text


class TestSessions:
    async def test_create_read_search_update_delete(self, business: Business) -> None:
        owner = business.as_("owner")
        service = await service_of_camille(business)
        made = await make(owner, service)
        assert made.status_code == 200, made.text
        data = made.json()["data"]
        assert data["date"] == f"{DAY}T14:00:00-05:00"
        assert (data["staff_id"], data["capacity"], data["length"]) == (CAMILLE, 4, 3600)
        assert data["records_count"] == 0
        path = f"/activity/{NEW_YORK}/{data['id']}"
        assert (await owner.call("GET", path)).json()["data"] == data
        found = await business.as_("nobody").call(
            "GET", f"/activity/{NEW_YORK}/search", params={"from": DAY, "till": DAY}
        )
        assert found.status_code == 200, found.text
        assert [item["id"] for item in found.json()["data"]] == [data["id"]]
        moved = await owner.call("PUT", path, {"date": f"{DAY}T17:00:00", "capacity": 6})
        assert moved.status_code == 200, moved.text
        assert moved.json()["data"]["date"] == f"{DAY}T17:00:00-05:00"
        assert moved.json()["data"]["capacity"] == 6
        assert moved.json()["data"]["length"] == 3600
        deleted = await owner.call("DELETE", path)
        assert deleted.status_code == 202, deleted.text
        assert deleted.json() == {"success": True, "data": None, "meta": {"message": "Accepted"}}
        assert (await owner.call("GET", path)).status_code == 404
        again = await business.as_("nobody").call(
            "GET", f"/activity/{NEW_YORK}/search", params={"from": DAY, "till": DAY}
        )
        assert again.json()["data"] == []

    async def test_seats_hold_the_capacity_follow_a_move_and_block_a_delete(
        self, business: Business
    ) -> None:
        owner = business.as_("owner")
        service = await service_of_camille(business)
        made = (await make(owner, service)).json()["data"]
        path = f"/activity/{NEW_YORK}/{made['id']}"
        await book_seats(business, made["id"], 3)
        shrunk = await owner.call("PUT", path, {"capacity": 2})
        assert shrunk.status_code == 422, shrunk.text
        assert shrunk.json()["meta"]["errors"][0]["field"] == "capacity"
        moved = await owner.call("PUT", path, {"date": f"{DAY}T18:00:00", "capacity": 3})
        assert moved.status_code == 200, moved.text
        assert moved.json()["data"]["records_count"] == 3
        span = {"start_date": DAY, "end_date": DAY}
        records = (await owner.call("GET", f"/records/{NEW_YORK}", params=span)).json()["data"]
        seat = next(item for item in records if item["activity_id"] == made["id"])
        assert seat["datetime"].startswith(f"{DAY}T18:00:00")
        refused = await owner.call("DELETE", path)
        assert refused.status_code == 409, refused.text
        assert "3 booked seat(s)" in refused.json()["meta"]["message"]
        assert refused.json()["meta"]["errors"][0]["message"] == "3"
        assert (await owner.call("GET", path)).status_code == 200
        cancelled = await owner.call("DELETE", f"/record/{NEW_YORK}/{seat['id']}")
        assert cancelled.status_code == 200, cancelled.text
        assert (await owner.call("DELETE", path)).status_code == 202

    async def test_who_booked_a_session_with_their_seats(self, business: Business) -> None:
        """`GET /records?activity_id=` lists a session's seat bookings (the desk's attendee
        list): each with the customer and `clients_count`; cancelled seats leave it."""
        owner = business.as_("owner")
        service = await service_of_camille(business)
        made = (await make(owner, service)).json()["data"]
        other = (await make(owner, service, "18:00")).json()["data"]
        await book_seats(business, made["id"], 2)
        await book_seats(business, other["id"], 1)
        assert (await walk_in(owner, service, "12:00")).status_code == 201
        wanted = {"activity_id": made["id"]}
        listed = await owner.call("GET", f"/records/{NEW_YORK}", params=wanted)
        assert listed.status_code == 200, listed.text
        (seat,) = listed.json()["data"]
        assert listed.json()["meta"]["total_count"] == 1
        assert (seat["activity_id"], seat["clients_count"]) == (made["id"], 2)
        assert seat["client"]["name"] == SEAT["fullname"]
        assert seat["client"]["phone"].endswith("2125550199")
        mine = await business.as_("member").call("GET", f"/records/{NEW_YORK}", params=wanted)
        assert [item["id"] for item in mine.json()["data"]] == [seat["id"]], "Camille leads it"
        assert (await owner.call("DELETE", f"/record/{NEW_YORK}/{seat['id']}")).status_code == 200
        after = await owner.call("GET", f"/records/{NEW_YORK}", params=wanted)
        assert after.json()["data"] == []
        session = (await owner.call("GET", f"/activity/{NEW_YORK}/{made['id']}")).json()["data"]
        assert session["records_count"] == 0

    async def test_overlaps_and_hours_are_refused(self, business: Business) -> None:
        owner = business.as_("owner")
        service = await service_of_camille(business)
        assert (await walk_in(owner, service, "13:00")).status_code == 201
        over_record = await make(owner, service, "12:30")
        assert over_record.status_code == 409, over_record.text
        first = await make(owner, service, "17:00")
        assert first.status_code == 200, first.text
        over_session = await make(owner, service, "17:30")
        assert over_session.status_code == 409, over_session.text
        appointment = await walk_in(owner, service, "17:00")
        assert appointment.status_code == 422, "an appointment over the session"
        for when in ("09:00", "20:30"):  # Camille works 12:00-21:00 that day
            late = await make(owner, service, when)
            assert late.status_code == 422, (when, late.text)
            assert late.json()["meta"]["errors"][0]["field"] == "date"
        forced = await make(owner, service, "09:00", force=True)
        assert forced.status_code == 200, forced.text
        moved = await owner.call(
            "PUT", f"/activity/{NEW_YORK}/{first.json()['data']['id']}", {"date": f"{DAY}T13:00"}
        )
        assert moved.status_code == 409, moved.text
        bad = await make(owner, service, staff_id=PRIYA, service_id=999_999)
        assert bad.status_code == 422
        past = await owner.call(
            "POST",
            f"/activity/{NEW_YORK}",
            {"date": "2026-11-01T14:00", "service_id": service, "staff_id": CAMILLE, "capacity": 2},
        )
        assert past.status_code == 422
        missing = await owner.call("POST", f"/activity/{NEW_YORK}", {"date": f"{DAY}T14:00"})
        assert missing.status_code == 422

    async def test_a_reload_of_the_business_file_keeps_them(
        self, business: Business, run_in_session: Any
    ) -> None:
        owner = business.as_("owner")
        service = await service_of_camille(business)
        made = (await make(owner, service)).json()["data"]
        data = document.read_file(demo_path())
        await run_in_session(lambda session: loader.load(session, data))
        kept = await owner.call("GET", f"/activity/{NEW_YORK}/{made['id']}")
        assert kept.status_code == 200, kept.text


class TestMatrix:
    async def test_every_caller(self, business: Business) -> None:
        owner = business.as_("owner")
        service = await service_of_camille(business)
        base = {"other_member": 403, "other_administrator": 403, "customer": 401, "nobody": 401}
        managers = {"owner": 200, "administrator": 200, "member": 403}
        made = (await make(owner, service, "12:00")).json()["data"]
        path = f"/activity/{NEW_YORK}/{made['id']}"
        priya = (await make(owner, service, "12:00", staff_id=PRIYA, force=True)).json()["data"]
        cases: list[tuple[str, str, Any, dict[str, int]]] = [
            ("GET", path, None, {"owner": 200, "administrator": 200, "member": 200}),
            ("GET", f"/activity/{NEW_YORK}/{priya['id']}", None, managers),
            ("PUT", path, {"capacity": 5}, managers),
            ("POST", f"/activity/{NEW_YORK}", None, {"member": 403}),
            ("DELETE", f"/activity/{NEW_YORK}/{priya['id']}", None, {"member": 403}),
            (
                "GET",
                f"/records/{NEW_YORK}?activity_id={made['id']}",
                None,
                {"owner": 200, "administrator": 200, "member": 200},
            ),
        ]
        for method, target, body, allowed in cases:
            for who, status in {**allowed, **base}.items():
                payload = body
                if method == "POST":
                    payload = {
                        "date": f"{DAY}T19:00",
                        "service_id": service,
                        "staff_id": CAMILLE,
                        "capacity": 2,
                    }
                response = await business.as_(who).call(method, target, payload)
                assert response.status_code == status, (method, target, who, response.text)
                if status >= 400:
                    assert response.json()["data"] is None, (method, target, who)
        for who, when in (("owner", "19:00"), ("administrator", "20:00")):
            response = await make(business.as_(who), service, when)
            assert response.status_code == 200, (who, response.text)
        for who in ("owner", "administrator"):
            response = await business.as_(who).call(
                "DELETE", f"/activity/{NEW_YORK}/{priya['id'] if who == 'owner' else made['id']}"
            )
            assert response.status_code == 202, (who, response.text)


class TestConcurrency:
    async def test_sessions_made_at_once_both_get_made(self, business: Business) -> None:
        owner = business.as_("owner")
        service = await service_of_camille(business)
        answers = await asyncio.gather(
            make(owner, service, "12:00"),
            make(owner, service, "12:00", staff_id=PRIYA, force=True),
            make(owner, service, "18:00"),
        )
        assert [answer.status_code for answer in answers] == [200, 200, 200]
        assert len({answer.json()["data"]["id"] for answer in answers}) == 3


class TestTheFilesSessions:
    async def test_are_read_here_and_changed_in_the_file(self, business: Business) -> None:
        owner = business.as_("owner")
        found = await owner.call(
            "GET", f"/activity/{BERLIN}/search", params={"from": DAY, "till": "2026-12-31"}
        )
        yoga = found.json()["data"][0]
        path = f"/activity/{BERLIN}/{yoga['id']}"
        assert (await owner.call("GET", path)).json()["data"]["capacity"] == yoga["capacity"]
        for method, body in (("PUT", {"capacity": 2}), ("DELETE", None)):
            response = await owner.call(method, path, body)
            assert response.status_code == 409, (method, response.text)
            assert "business file" in response.json()["meta"]["message"]
        assert (await owner.call("GET", path)).json()["data"]["capacity"] == yoga["capacity"]
