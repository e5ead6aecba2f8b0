"""The business side through HTTP: login, the permission matrix, records made and changed by
staff, schedules, and the calls of the official Altegio MCP server, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest

from openbooking.backoffice import accounts
from tests.backoffice.conftest import (
    BERLIN,
    CAMILLE,
    DAY,
    NEW_YORK,
    PASSWORD,
    Business,
    Caller,
)
from tests.conftest import SECRETS
from tests.notifications.conftest import deliver

ROLES = (
    "owner",
    "administrator",
    "member",
    "other_member",
    "other_administrator",
    "customer",
    "nobody",
)


async def service_of_camille(business: Business) -> int:
    services = (await business.as_("owner").call("GET", f"/services/{NEW_YORK}")).json()["data"]
    return int(next(s["id"] for s in services if any(x["id"] == CAMILLE for x in s["staff"])))


async def walk_in(caller: Caller, service: int, when: str, **extra: Any) -> Any:
    body = {
        "staff_id": CAMILLE,
        "services": [{"id": service}],
        "datetime": f"{DAY}T{when}:00",
        "client": {"name": "Ada Lovelace", "phone": "+12125550188"},
        **extra,
    }
    return await caller.call("POST", f"/records/{NEW_YORK}", body)


class TestAuth:
    async def test_json_form_and_query_string_logins(self, business: Business) -> None:
        http, partner = business.http, business.partner
        headers = {"Authorization": f"Bearer {partner}"}
        login = {"login": "owner@example.org", "password": PASSWORD}
        as_form = await http.post("/api/v1/auth", data=login, headers=headers)
        assert as_form.status_code == 201, as_form.text
        as_query = await http.post("/api/v1/auth", params=login, headers=headers)
        assert as_query.status_code == 201, as_query.text
        data = as_query.json()["data"]
        assert data["login"] == "owner@example.org"
        assert data["user_token"]
        wrong = await http.post(
            "/api/v1/auth", json={**login, "password": PASSWORD + "!"}, headers=headers
        )
        assert wrong.status_code == 401
        assert wrong.json()["success"] is False

    async def test_a_customer_cannot_log_in_here(self, business: Business) -> None:
        response = await business.http.post(
            "/api/v1/auth",
            json={"login": "+12125550123", "password": PASSWORD},
            headers={"Authorization": f"Bearer {business.partner}"},
        )
        assert response.status_code == 401

    async def test_the_populations_are_separate(self, business: Business) -> None:
        customer = await business.as_("customer").call("GET", f"/records/{NEW_YORK}")
        assert customer.status_code == 401
        owner = await business.as_("owner").call("GET", "/user/records/0")
        assert owner.status_code == 401
        mine = await business.as_("customer").call("GET", "/user/records/0")
        assert mine.status_code == 201

    async def test_repeated_failures_are_throttled(self, business: Business) -> None:
        headers = {"Authorization": f"Bearer {business.partner}"}
        statuses = []
        for _ in range(7):
            response = await business.http.post(
                "/api/v1/auth",
                json={"login": "member@example.org", "password": "not the password at all"},
                headers=headers,
            )
            statuses.append(response.status_code)
        assert statuses[0] == 401
        assert statuses[-1] == 429
        assert response.headers["Retry-After"]


class TestSecondFactor:
    async def test_totp_is_asked_for_checked_and_used_once(
        self, business: Business, app: Any, run_in_session: Any, clock: Any
    ) -> None:
        key = app.state.secret_key
        uri = await run_in_session(
            lambda session: accounts.enroll_totp(session, key, "administrator@example.org")
        )
        totp = pyotp.parse_uri(uri)
        assert isinstance(totp, pyotp.TOTP)
        http, headers = business.http, {"Authorization": f"Bearer {business.partner}"}
        login = {"login": "administrator@example.org", "password": PASSWORD}
        revoked = await business.as_("administrator").call("GET", f"/records/{NEW_YORK}")
        assert revoked.status_code == 401, "enrolling revokes the tokens"
        asked = await http.post("/api/v1/auth", json=login, headers=headers)
        assert asked.status_code == 422
        assert asked.json()["meta"]["errors"][0]["field"] == "2fa.secret"
        wrong = await http.post(
            "/api/v1/auth", json={**login, "2fa": {"secret": "000000"}}, headers=headers
        )
        assert wrong.status_code == 401
        code = totp.now()
        SECRETS.add(code)
        good = await http.post(
            "/api/v1/auth", json={**login, "2fa": {"uuid": "x", "secret": code}}, headers=headers
        )
        assert good.status_code == 201, good.text
        again = await http.post("/api/v1/auth", json={**login, "totp": code}, headers=headers)
        assert again.status_code == 401, "a code is used once"
        clock.shift(30)
        later = totp.now()
        SECRETS.add(later)
        as_form = await http.post("/api/v1/auth", data={**login, "totp": later}, headers=headers)
        assert as_form.status_code == 201, as_form.text

    async def test_only_managers_enrol(
        self, business: Business, app: Any, run_in_session: Any
    ) -> None:
        key = app.state.secret_key
        with pytest.raises(accounts.UserError):
            await run_in_session(
                lambda session: accounts.enroll_totp(session, key, "member@example.org")
            )


class TestMatrix:
    """Every endpoint x every kind of caller: the documented status, and never another
    location's data."""

    async def test_every_endpoint_and_caller(self, business: Business) -> None:
        owner = business.as_("owner")
        service = await service_of_camille(business)
        made = await walk_in(owner, service, "12:00")
        assert made.status_code == 201, made.text
        record = made.json()["data"][0]
        client_id = record["client"]["id"]
        body = {"date": f"{DAY}T13:00", "service_id": service, "staff_id": CAMILLE, "capacity": 3}
        made_session = await owner.call("POST", f"/activity/{NEW_YORK}", body)
        assert made_session.status_code == 200, made_session.text
        activity = f"/activity/{NEW_YORK}/{made_session.json()['data']['id']}"
        free = iter(["14:00", "15:00", "17:00", "18:00", "19:00", "20:00"])
        read = {"owner": 200, "administrator": 200, "member": 200}
        written = {"owner": 201, "administrator": 201, "member": 201}
        managers = {"owner": 200, "administrator": 200, "member": 403}
        base = {"other_member": 403, "other_administrator": 403, "customer": 401, "nobody": 401}
        cases: list[tuple[str, str, Any, dict[str, int]]] = [
            ("GET", f"/records/{NEW_YORK}", None, read),
            ("GET", f"/record/{NEW_YORK}/{record['id']}", None, read),
            ("PUT", f"/record/{NEW_YORK}/{record['id']}", {"comment": "ok"}, written),
            ("GET", f"/staff/{NEW_YORK}", None, read),
            ("GET", f"/staff/{NEW_YORK}/{CAMILLE}", None, read),
            ("GET", f"/services/{NEW_YORK}", None, read),
            ("GET", f"/services/{NEW_YORK}/{service}", None, read),
            ("GET", f"/company/{NEW_YORK}/services", None, read),
            ("GET", f"/clients/{NEW_YORK}", None, managers),
            ("GET", activity, None, {"owner": 200, "administrator": 200, "member": 200}),
            ("PUT", activity, {"capacity": 4}, managers),
            ("POST", f"/activity/{NEW_YORK}", {"capacity": 2}, {"member": 403}),
            ("GET", f"/client/{NEW_YORK}/{client_id}", None, managers),
            ("GET", f"/schedule/{NEW_YORK}/{CAMILLE}/{DAY}/{DAY}", None, read),
            (
                "PUT",
                f"/schedule/{NEW_YORK}/{CAMILLE}/2026-12-24/2026-12-24",
                [
                    {
                        "date": "2026-12-24",
                        "is_working": True,
                        "slots": [{"from": "12:00", "to": "20:00"}],
                    }
                ],
                read,
            ),
        ]
        for method, path, body, allowed in cases:
            for who, status in {**allowed, **base}.items():
                response = await business.as_(who).call(method, path, body)
                assert response.status_code == status, (method, path, who, response.text)
                if status >= 400:
                    assert response.json()["data"] is None, (method, path, who)
        for who, status in {"owner": 201, "administrator": 201, "member": 201, **base}.items():
            response = await walk_in(
                business.as_(who), service, next(free) if status == 201 else "20:00"
            )
            assert response.status_code == status, (who, response.text)
        listed = (await owner.call("GET", f"/records/{NEW_YORK}")).json()["data"]
        assert len(listed) == 4  # the first and one for each role allowed to book
        deleters = iter(["owner", "administrator", "member", "member"])
        for item in listed:
            path = f"/record/{NEW_YORK}/{item['id']}"
            for who, status in base.items():
                response = await business.as_(who).call("DELETE", path)
                assert response.status_code == status, (who, response.text)
                assert response.json()["data"] is None
            assert (await owner.call("GET", path)).json()["data"]["deleted"] is False
            response = await business.as_(next(deleters)).call("DELETE", path)
            assert response.status_code == 200, response.text
            assert (await owner.call("GET", path)).json()["data"]["deleted"] is True

    async def test_public_company_reads_do_not_change(self, business: Business) -> None:
        for who in ROLES:
            response = await business.as_(who).call("GET", f"/company/{NEW_YORK}")
            assert response.status_code == 200, (who, response.text)
        public = await business.as_("nobody").call("GET", "/companies")
        assert {item["id"] for item in public.json()["data"]} == {BERLIN, NEW_YORK}

    async def test_my_companies_are_only_mine(self, business: Business) -> None:
        expected = {
            "owner": {BERLIN, NEW_YORK},
            "administrator": {NEW_YORK},
            "member": {NEW_YORK},
            "other_member": {BERLIN},
            "other_administrator": {BERLIN},
        }
        for who, ids in expected.items():
            response = await business.as_(who).call("GET", "/companies", params={"my": 1})
            assert response.status_code == 200, response.text
            assert {item["id"] for item in response.json()["data"]} == ids, who
        for who in ("customer", "nobody"):
            response = await business.as_(who).call("GET", "/companies", params={"my": 1})
            assert response.status_code == 401

    async def test_a_member_sees_only_their_own_appointments(self, business: Business) -> None:
        owner = business.as_("owner")
        service = await service_of_camille(business)
        assert (await walk_in(owner, service, "12:00")).status_code == 201
        member = business.as_("member")
        mine = (await member.call("GET", f"/records/{NEW_YORK}")).json()
        assert {item["staff_id"] for item in mine["data"]} == {CAMILLE}
        others = await member.call("GET", f"/records/{NEW_YORK}", params={"staff_id": 205})
        assert others.status_code == 403
        body = {
            "staff_id": 205,
            "services": [{"id": service}],
            "datetime": f"{DAY}T12:00:00",
            "client": {"name": "Ada", "phone": "+12125550188"},
        }
        assert (await member.call("POST", f"/records/{NEW_YORK}", body)).status_code == 403


class TestRecords:
    async def test_todays_appointments_and_filters(self, business: Business) -> None:
        owner = business.as_("owner")
        service = await service_of_camille(business)
        for when in ("12:00", "13:00", "14:00"):
            assert (await walk_in(owner, service, when)).status_code == 201
        page = await owner.call(
            "GET",
            f"/records/{NEW_YORK}",
            params={"start_date": DAY, "end_date": DAY, "count": 2, "page": 2},
        )
        body = page.json()
        assert body["success"] is True
        assert body["meta"] == {"page": 2, "total_count": 3}
        assert [item["date"] for item in body["data"]] == [f"{DAY} 14:00:00"]
        other_day = await owner.call(
            "GET", f"/records/{NEW_YORK}", params={"start_date": "2026-12-04"}
        )
        assert other_day.json()["meta"]["total_count"] == 0
        too_many = await owner.call("GET", f"/records/{NEW_YORK}", params={"count": 301})
        assert too_many.status_code == 422

    async def test_the_online_rule_holds_unless_a_manager_overrides(
        self, business: Business
    ) -> None:
        owner, member = business.as_("owner"), business.as_("member")
        service = await service_of_camille(business)
        early = await walk_in(owner, service, "08:00")
        assert early.status_code == 422
        assert early.json()["meta"]["errors"][0]["code"] == 433
        refused = await walk_in(member, service, "08:00", save_if_busy=True)
        assert refused.status_code == 403
        squeezed = await walk_in(owner, service, "08:00", save_if_busy=True)
        assert squeezed.status_code == 201, squeezed.text
        record = squeezed.json()["data"][0]
        overlap = await walk_in(owner, service, "08:00", save_if_busy=True)
        assert overlap.status_code == 422, "never over another booking"
        seen = (await owner.call("GET", f"/record/{NEW_YORK}/{record['id']}")).json()["data"]
        assert seen["history"][0]["changes"] == {"override": True}

    async def test_moves_attendance_and_history(self, business: Business) -> None:
        owner, admin = business.as_("owner"), business.as_("administrator")
        service = await service_of_camille(business)
        record = (await walk_in(owner, service, "12:00")).json()["data"][0]
        path = f"/record/{NEW_YORK}/{record['id']}"
        moved = await admin.call("PUT", path, {"datetime": f"{DAY}T17:00:00", "comment": "later"})
        assert moved.status_code == 201, moved.text
        assert moved.json()["data"]["date"] == f"{DAY} 17:00:00"
        came = await business.as_("member").call("PUT", path, {"attendance": "came"})
        assert came.json()["data"]["attendance"] == 1
        bad = await admin.call("PUT", path, {"attendance": "maybe"})
        assert bad.status_code == 422
        into_break = await admin.call("PUT", path, {"datetime": f"{DAY}T16:00:00"})
        assert into_break.status_code == 422
        gone = await admin.call("DELETE", path)
        assert gone.status_code == 200
        assert gone.json()["data"] == {
            "id": record["id"],
            "deleted": True,
        }
        history = (await owner.call("GET", path)).json()["data"]["history"]
        assert [(h["actor"]["type"], h["actor"]["name"], h["action"]) for h in history] == [
            ("user", "Owner", "created"),
            ("user", "Administrator", "changed"),
            ("user", "Member", "changed"),
            ("user", "Administrator", "cancelled"),
        ]
        assert history[1]["changes"]["comment"] == ["", "later"]
        assert history[2]["changes"] == {"attendance": [0, 1]}
        listed = await owner.call("GET", f"/records/{NEW_YORK}")
        assert listed.json()["meta"]["total_count"] == 0, "cancelled records are not listed"
        synced = await owner.call(
            "GET", f"/records/{NEW_YORK}", params={"changed_after": "2026-11-30T00:00:00Z"}
        )
        assert [item["deleted"] for item in synced.json()["data"]] == [True]

    async def test_a_customers_booking_shows_the_customer_in_its_history(
        self, business: Business
    ) -> None:
        customer = business.as_("customer")
        service = await service_of_camille(business)
        body = {
            "phone": "+12125550123",
            "fullname": "Grace Hopper",
            "email": "grace@example.org",
            "appointments": [
                {"id": 1, "services": [service], "staff_id": CAMILLE, "datetime": f"{DAY}T12:00:00"}
            ],
        }
        booked = await customer.call("POST", f"/book_record/{NEW_YORK}", body)
        assert booked.status_code == 201, booked.text
        record_id = booked.json()["data"][0]["record_id"]
        moved = await customer.call(
            "PUT", f"/book_record/{NEW_YORK}/{record_id}", {"datetime": f"{DAY}T13:00:00"}
        )
        assert moved.status_code == 200, moved.text
        seen = await business.as_("administrator").call("GET", f"/record/{NEW_YORK}/{record_id}")
        created, changed = seen.json()["data"]["history"]
        assert changed["actor"]["type"] == "customer"
        assert changed["changes"] == {"datetime": [f"{DAY}T12:00:00-0500", f"{DAY}T13:00:00-0500"]}
        assert created["actor"]["type"] == "customer"
        assert created["actor"]["name"] == "Grace Hopper"
        assert created["action"] == "created"
        assert seen.json()["data"]["online"] is True

    async def test_a_bookings_sms_and_email_state(
        self, business: Business, app: Any, settings: Any
    ) -> None:
        """`GET /record` tells the desk whether the customer hears by SMS and e-mail, and where
        each e-mail stands in the outbox: queued, sent, dropped when no longer wanted."""
        customer = business.as_("customer")
        service = await service_of_camille(business)
        body = {
            "phone": "+12125550123",
            "fullname": "Grace Hopper",
            "email": "grace@example.org",
            "notify_by_sms": 2,
            "notify_by_email": 24,
            "appointments": [
                {"id": 1, "services": [service], "staff_id": CAMILLE, "datetime": f"{DAY}T12:00:00"}
            ],
        }
        booked = await customer.call("POST", f"/book_record/{NEW_YORK}", body)
        assert booked.status_code == 201, booked.text
        path = f"/record/{NEW_YORK}/{booked.json()['data'][0]['record_id']}"
        admin = business.as_("administrator")

        def states(seen: Any) -> dict[str, str]:
            return {item["event"]: item["state"] for item in seen["notifications"]["outbox"]}

        seen = (await admin.call("GET", path)).json()["data"]
        notices = seen["notifications"]
        assert notices["sms"] == {
            "on": True,
            "hours_before": 2,
            "reminder": "pending",
            "due": f"{DAY}T10:00:00-0500",
        }
        assert notices["email"] == {
            "on": True,
            "hours_before": 24,
            "address": "grace@example.org",
        }
        assert states(seen) == {"email.confirmed": "pending", "email.reminder": "pending"}
        assert {item["to"] for item in notices["outbox"]} == {"grace@example.org"}
        assert "notifications" not in (await admin.call("GET", f"/records/{NEW_YORK}")).text

        run = await deliver(app, settings)
        assert run.sent == 1, run
        seen = (await admin.call("GET", path)).json()["data"]
        assert states(seen) == {"email.confirmed": "sent", "email.reminder": "pending"}
        (sent,) = [item for item in seen["notifications"]["outbox"] if item["state"] == "sent"]
        assert sent["sent"] is not None
        assert sent["attempts"] == 1

        assert (await admin.call("DELETE", path)).status_code == 200
        seen = (await admin.call("GET", path)).json()["data"]
        assert seen["notifications"]["sms"]["reminder"] == "off"
        assert states(seen) == {
            "email.confirmed": "sent",
            "email.reminder": "dropped",
            "email.cancelled": "pending",
        }

        walk = await walk_in(admin, service, "15:00")
        plain = await admin.call("GET", f"/record/{NEW_YORK}/{walk.json()['data'][0]['id']}")
        assert plain.json()["data"]["notifications"] == {
            "sms": {"on": False, "hours_before": 0, "reminder": "off", "due": None},
            "email": {"on": False, "hours_before": 0, "address": ""},
            "outbox": [],
        }


class TestSchedule:
    async def test_a_day_off_is_refused_while_bookings_stand(self, business: Business) -> None:
        owner = business.as_("owner")
        service = await service_of_camille(business)
        record = (await walk_in(owner, service, "12:00")).json()["data"][0]
        path = f"/schedule/{NEW_YORK}/{CAMILLE}/{DAY}/{DAY}"
        before = await owner.call("GET", path)
        assert before.json()["data"] == [
            {
                "date": DAY,
                "is_working": True,
                "slots": [{"from": "12:00", "to": "16:00"}, {"from": "16:30", "to": "21:00"}],
            }
        ]
        off = [{"date": DAY, "is_working": False, "slots": []}]
        refused = await owner.call("PUT", path, off)
        assert refused.status_code == 409
        assert [item["id"] for item in refused.json()["meta"]["errors"]] == [record["id"]]
        assert (await owner.call("GET", path)).json() == before.json(), "nothing changed"
        await owner.call("DELETE", f"/record/{NEW_YORK}/{record['id']}")
        accepted = await owner.call("PUT", path, off)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["data"] == [{"date": DAY, "is_working": False, "slots": []}]
        times = await owner.call(
            "GET", f"/book_times/{NEW_YORK}/{CAMILLE}/{DAY}", params={"service_ids": service}
        )
        assert times.json()["data"] == [], "availability follows at once"

    async def test_changed_hours_open_new_times(self, business: Business) -> None:
        member = business.as_("member")
        service = await service_of_camille(business)
        day = [{"date": DAY, "is_working": 1, "slots": [{"from": "08:00", "to": "10:00"}]}]
        changed = await member.call("PUT", f"/schedule/{NEW_YORK}/{CAMILLE}", day)
        assert changed.status_code == 200, changed.text
        times = await member.call(
            "GET", f"/book_times/{NEW_YORK}/{CAMILLE}/{DAY}", params={"service_ids": service}
        )
        assert times.json()["data"][0]["time"] == "08:00"
        bad = [{"date": DAY, "is_working": True, "slots": [{"from": "10:00", "to": "09:00"}]}]
        assert (await member.call("PUT", f"/schedule/{NEW_YORK}/{CAMILLE}", bad)).status_code == 422


class TestAltegioMcp:
    """The requests the official Altegio MCP server (altegio/altegio-pro-mcp,
    src/providers/altegio-client.ts) sends, unchanged: its Accept header, its Authorization
    header, its bodies; it needs `success: true` and a non-null `data`."""

    async def test_its_calls(self, business: Business) -> None:
        http, partner = business.http, business.partner
        base = {"Accept": "application/vnd.api.v2+json"}
        login = await http.post(
            "/api/v1/auth",
            content=b'{"login":"administrator@example.org","password":"'
            + PASSWORD.encode()
            + b'"}',
            headers={
                **base,
                "Authorization": f"Bearer {partner}",
                "Content-Type": "application/json",
            },
        )
        assert login.status_code == 201
        result = login.json()
        assert result["success"]
        assert result["data"]["user_token"]
        assert result["data"]["id"]
        headers = {
            **base,
            "Authorization": f"Bearer {partner}, User {result['data']['user_token']}",
        }

        async def ok(method: str, path: str, body: Any = None) -> Any:
            sent = dict(headers)
            if body is not None:
                sent["Content-Type"] = "application/json"
            response = await http.request(method, f"/api/v1{path}", json=body, headers=sent)
            assert response.is_success, (method, path, response.text)
            answer = response.json()
            assert answer["success"] is True, (path, answer)
            assert answer["data"] is not None, (path, answer)
            return answer["data"]

        companies = await ok("GET", "/companies?my=1")
        assert [c["id"] for c in companies] == [NEW_YORK]
        staff = await ok("GET", f"/staff/{NEW_YORK}")
        assert CAMILLE in [member["id"] for member in staff]
        services = await ok("GET", f"/services/{NEW_YORK}")
        assert services == await ok("GET", f"/company/{NEW_YORK}/services")
        service = next(s["id"] for s in services if any(x["id"] == CAMILLE for x in s["staff"]))
        created = await ok(
            "POST",
            f"/records/{NEW_YORK}",
            {
                "staff_id": CAMILLE,
                "services": [{"id": service}],
                "datetime": f"{DAY}T13:00:00",
                "seance_length": 3600,
                "client": {
                    "name": "Ada Lovelace",
                    "phone": "+12125550188",
                    "email": "ada@example.org",
                },
                "comment": "walk-in",
                "send_sms": 0,
                "attendance": 0,
            },
        )
        record_id = created[0]["id"]
        listed = await ok("GET", f"/records/{NEW_YORK}?start_date={DAY}&end_date={DAY}")
        assert [item["id"] for item in listed] == [record_id]
        updated = await ok(
            "PUT",
            f"/record/{NEW_YORK}/{record_id}",
            {
                "staff_id": CAMILLE,
                "services": [{"id": service}],
                "datetime": f"{DAY}T14:00:00",
                "comment": "moved",
                "attendance": 2,
            },
        )
        assert updated["comment"] == "moved"
        assert updated["attendance"] == 2
        schedule = await ok("GET", f"/schedule/{NEW_YORK}/{CAMILLE}/{DAY}/{DAY}")
        assert schedule[0]["is_working"] is True
        deleted = await http.delete(f"/api/v1/record/{NEW_YORK}/{record_id}", headers=headers)
        assert deleted.is_success
