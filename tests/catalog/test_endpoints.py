"""The catalog endpoints through HTTP, in both dialects, on the bundled demo business."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from openbooking.kit.envelope import Dialect
from openbooking.models import Staff

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.ext.asyncio import AsyncSession

    from tests.conftest import Api

pytestmark = pytest.mark.usefixtures("demo")

BERLIN, NEW_YORK, CHAIN = 1001, 1002, 1
BERLIN_FORM, NEW_YORK_FORM, CHAIN_FORM = 1, 2, 3
BOTH = pytest.mark.parametrize("dialect", [Dialect.ALTEGIO, Dialect.YCLIENTS])


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True
    assert body["meta"] == []
    return body["data"]


def failed(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["data"] is None
    assert isinstance(body["meta"]["message"], str)
    assert body["meta"]["message"]
    meta: dict[str, Any] = body["meta"]
    return meta


class TestPartnerAuthentication:
    async def test_missing_header_is_401_in_the_envelope(self, client: httpx.AsyncClient) -> None:
        meta = failed(await client.get(f"/api/v1/bookform/{BERLIN_FORM}"), 401)
        assert meta["message"] == "Authentication needed."

    @pytest.mark.parametrize("header", ["Bearer nope", "Basic abc", "Bearer", "nonsense"])
    async def test_unknown_or_malformed_token_is_401(
        self, client: httpx.AsyncClient, header: str
    ) -> None:
        response = await client.get("/api/v1/companies", headers={"Authorization": header})
        assert failed(response, 401)["message"] == "Authentication needed."

    @pytest.mark.parametrize(
        "template",
        ["Bearer {p}", "Bearer {p}, User u1", "Bearer {p},User u1", "Bearer {p} ,  User u1"],
    )
    async def test_partner_with_or_without_user_part(self, api: Api, template: str) -> None:
        header = template.format(p=api.token)
        ok(await api.get("/companies", headers={"Authorization": header}))

    async def test_401_comes_before_404_and_422(self, client: httpx.AsyncClient) -> None:
        failed(await client.get("/api/v1/bookform/999999"), 401)
        failed(await client.get("/api/v1/book_services/abc"), 401)


class TestProtocolTolerance:
    @pytest.mark.parametrize("suffix", ["", "/"])
    async def test_trailing_slash_is_optional(self, api: Api, suffix: str) -> None:
        assert ok(await api.get(f"/company/{BERLIN}{suffix}"))["id"] == BERLIN
        assert ok(await api.get(f"/book_services/{BERLIN}{suffix}"))["services"]

    async def test_float_spelled_ids(self, api: Api) -> None:
        assert ok(await api.get(f"/company/{BERLIN}.0"))["id"] == BERLIN
        assert ok(await api.get(f"/bookform/{BERLIN_FORM}.0"))["id"] == BERLIN_FORM

    @pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html"])
    async def test_any_accept_gets_the_altegio_envelope(self, api: Api, accept: str | None) -> None:
        headers = {} if accept is None else {"Accept": accept}
        response = await api.get(f"/bookform/{BERLIN_FORM}", dialect=None, headers=headers)
        data = ok(response)
        assert response.headers["content-type"].startswith("application/json")
        assert "vkontakte_pixel_id" not in data  # the Altegio shape

    @pytest.mark.parametrize(
        "path",
        [
            "/company/abc",
            "/company/-1",
            "/company/1.5",
            "/company/１００１",
            f"/company/{'9' * 5000}",
            f"/book_services/{BERLIN}?staff_id=x",
            "/companies?page=0",
            "/companies?count=100000",
            "/companies?group_id=1e3",
            # Python's int() would read each of these as 1001.
            f"/company/1_00{BERLIN % 10}",
            f"/company/+{BERLIN}",
            f"/company/%20%20{BERLIN}",
            f"/company/{BERLIN}%20",
            f"/book_services/{BERLIN}?staff_id=2_01",
        ],
    )
    async def test_malformed_parameters_are_422_naming_the_field(self, api: Api, path: str) -> None:
        meta = failed(await api.get(path), 422)
        field = meta["errors"][0]["field"]
        assert field in {"location_id", "staff_id", "page", "count", "group_id"}
        assert field in meta["message"]

    @pytest.mark.parametrize("spelling", [f"{BERLIN}", f"{BERLIN}.0", f"{BERLIN}.00"])
    async def test_ids_as_vendor_clients_send_them(self, api: Api, spelling: str) -> None:
        assert ok(await api.get(f"/company/{spelling}"))["id"] == BERLIN

    @pytest.mark.parametrize(
        "path", ["/company/999999", "/bookform/999999", "/privacy_policy/999999", "/nope"]
    )
    async def test_unknown_ids_and_paths_are_404(self, api: Api, path: str) -> None:
        failed(await api.get(path), 404)

    async def test_wrong_method_is_405_in_the_envelope(self, api: Api) -> None:
        response = await api.client.post(
            f"/api/v1/company/{BERLIN}", headers={"Authorization": f"Bearer {api.token}"}
        )
        failed(response, 405)

    @pytest.mark.parametrize(
        ("method", "path", "allowed"),
        [
            ("POST", "/api/v1/book_record/1002/1", "GET, PUT"),
            ("PATCH", "/api/v1/user/records/1/abc", "DELETE, GET"),
            ("POST", "/api/v1/user/records/1", "DELETE, GET"),
            ("DELETE", "/api/v1/companies", "GET"),
        ],
    )
    async def test_405_names_every_method_of_the_path(
        self, api: Api, method: str, path: str, allowed: str
    ) -> None:
        response = await api.client.request(
            method, path, headers={"Authorization": f"Bearer {api.token}"}
        )
        failed(response, 405)
        assert response.headers["allow"] == allowed

    async def test_oversized_body_is_413(self, api: Api) -> None:
        response = await api.client.request(
            "GET",
            "/api/v1/companies",
            content=b"x" * (64 * 1024 + 1),
            headers={"Authorization": f"Bearer {api.token}"},
        )
        failed(response, 413)


class TestBookform:
    @BOTH
    async def test_location_form(self, api: Api, dialect: Dialect) -> None:
        data = ok(await api.get(f"/bookform/{BERLIN_FORM}", dialect=dialect))
        assert data["id"] == BERLIN_FORM
        assert data["company_id"] == BERLIN
        assert data["group_id"] == CHAIN
        assert data["phone_confirmation"] is True
        assert [step["num"] for step in data["steps"]] == list(range(1, len(data["steps"]) + 1))
        assert all(step["title"] for step in data["steps"])
        assert {lang["code"] for lang in data["langs"]} >= {"en-US", "ru-RU"}
        assert {"id": 2, "code": "en-US", "title": "English"} in data["langs"]

    async def test_chain_form_points_at_the_chain(self, api: Api) -> None:
        data = ok(await api.get(f"/bookform/{CHAIN_FORM}"))
        assert data["group_id"] == CHAIN
        assert data["company_id"] in {BERLIN, NEW_YORK}
        assert data["steps"][0]["step"] == "company"

    async def test_new_york_form_needs_no_phone_confirmation(self, api: Api) -> None:
        assert ok(await api.get(f"/bookform/{NEW_YORK_FORM}"))["phone_confirmation"] is False

    async def test_dialects_type_analytics_ids_as_their_references_do(self, api: Api) -> None:
        forms = [ok(await api.get(f"/bookform/{i}")) for i in (1, 2, 3)]
        with_metrika = [f for f in forms if f["metrika_counter_id"] is not None]
        assert with_metrika, "the demo sets a metrika counter on one form"
        form_id = with_metrika[0]["id"]
        altegio = ok(await api.get(f"/bookform/{form_id}", dialect=Dialect.ALTEGIO))
        yclients = ok(await api.get(f"/bookform/{form_id}", dialect=Dialect.YCLIENTS))
        assert isinstance(altegio["metrika_counter_id"], int)
        assert yclients["metrika_counter_id"] == str(altegio["metrika_counter_id"])
        assert isinstance(yclients["vkontakte_pixel_id"], str)
        assert "vkontakte_pixel_id" not in altegio


class TestI18n:
    @pytest.mark.parametrize("lang", ["en-US", "ru-RU"])
    @BOTH
    async def test_bare_string_tree(self, api: Api, lang: str, dialect: Dialect) -> None:
        response = await api.get(f"/i18n/{lang}", dialect=dialect)
        assert response.status_code == 200
        body = response.json()
        assert "success" not in body
        assert body["confirm"]["orderErrors"]["code_433"]
        assert body["login"]["errors"]["incorrect_login_password"]

    async def test_languages_differ(self, api: Api) -> None:
        english = (await api.get("/i18n/en-US")).json()
        russian = (await api.get("/i18n/ru-RU")).json()
        assert english["Yes"] != russian["Yes"]

    @pytest.mark.parametrize("lang", ["xx-XX", "en", "../en-US", "en-US.json", "a" * 300])
    async def test_unknown_language_is_404(self, api: Api, lang: str) -> None:
        failed(await api.get(f"/i18n/{lang}"), 404)


class TestPrivacyPolicy:
    async def test_policy_text(self, api: Api) -> None:
        data = ok(await api.get(f"/privacy_policy/{BERLIN}"))
        assert data["agreement"]["content"]

    async def test_location_without_policy_has_empty_content(self, api: Api) -> None:
        assert ok(await api.get(f"/privacy_policy/{NEW_YORK}")) == {"agreement": {"content": ""}}


class TestCompanies:
    @BOTH
    async def test_chain_filter(self, api: Api, dialect: Dialect) -> None:
        data = ok(await api.get("/companies", params={"group_id": CHAIN}, dialect=dialect))
        assert {item["id"] for item in data} == {BERLIN, NEW_YORK}
        assert ok(await api.get("/companies", params={"group_id": 424242})) == []

    async def test_paging(self, api: Api) -> None:
        first = ok(await api.get("/companies", params={"count": 1, "page": 1}))
        second = ok(await api.get("/companies", params={"count": 1, "page": 2}))
        third = ok(await api.get("/companies", params={"count": 1, "page": 3}))
        assert len(first) == len(second) == 1
        assert first[0]["id"] != second[0]["id"]
        assert third == []

    async def test_booking_settings_are_listed(self, api: Api) -> None:
        data = ok(await api.get("/companies", params={"id": BERLIN}))
        (berlin,) = data
        assert berlin["phone_confirmation"] is True
        assert berlin["timezone_name"] == "Europe/Berlin"
        assert berlin["currency_short_title"] == "EUR"
        assert berlin["active_staff_count"] >= 1
        assert isinstance(berlin["allow_change_record_delay_step"], int)

    async def test_timezone_offset_type_follows_the_dialect(self, api: Api) -> None:
        altegio = ok(await api.get(f"/company/{NEW_YORK}", dialect=Dialect.ALTEGIO))
        yclients = ok(await api.get(f"/company/{NEW_YORK}", dialect=Dialect.YCLIENTS))
        assert altegio["timezone"] in {"-5", "-4"}
        assert yclients["timezone"] in {-5, -4}


class TestForBooking:
    async def test_next_slot_only_when_asked(self, api: Api) -> None:
        plain = ok(await api.get(f"/company/{BERLIN}"))
        assert "next_slot" not in plain
        listed = ok(await api.get("/companies", params={"forBooking": 1}))
        one = ok(await api.get(f"/company/{BERLIN}", params={"forBooking": 1}))
        slot = datetime.fromisoformat(one["next_slot"])
        assert slot > datetime.now(UTC)
        assert slot.utcoffset() in {timedelta(hours=1), timedelta(hours=2)}
        assert {item["id"]: item["next_slot"] for item in listed}[BERLIN] == one["next_slot"]


class TestCompany:
    @BOTH
    async def test_one_location(self, api: Api, dialect: Dialect) -> None:
        data = ok(await api.get(f"/company/{BERLIN}", dialect=dialect))
        assert data["id"] == BERLIN
        assert data["main_group_id"] == CHAIN
        assert data["main_group"][0]["id"] == CHAIN
        assert {form["id"] for form in data["bookforms"]} == {BERLIN_FORM, CHAIN_FORM}


class TestBookServices:
    @BOTH
    async def test_categories_and_services(self, api: Api, dialect: Dialect) -> None:
        data = ok(await api.get(f"/book_services/{BERLIN}", dialect=dialect))
        assert data["events"] == []
        category_ids = {item["id"] for item in data["category"]}
        assert data["services"]
        assert all(service["category_id"] in category_ids for service in data["services"])
        assert all(isinstance(service["seance_length"], int) for service in data["services"])

    async def test_locations_do_not_share_services(self, api: Api) -> None:
        berlin = ok(await api.get(f"/book_services/{BERLIN}"))["services"]
        new_york = ok(await api.get(f"/book_services/{NEW_YORK}"))["services"]
        assert not {s["id"] for s in berlin} & {s["id"] for s in new_york}

    async def test_staff_filter_uses_the_members_own_length(
        self, api: Api, run_in_session: Any
    ) -> None:
        async def berlin_staff(session: AsyncSession) -> list[int]:
            rows = await session.scalars(select(Staff.id).where(Staff.location_id == BERLIN))
            return list(rows)

        staff_ids = await run_in_session(berlin_staff)
        everything = ok(await api.get(f"/book_services/{BERLIN}"))["services"]
        default_length = {s["id"]: s["seance_length"] for s in everything}
        differing = []
        for staff_id in staff_ids:
            mine = ok(await api.get(f"/book_services/{BERLIN}", params={"staff_id": staff_id}))
            assert {s["id"] for s in mine["services"]} <= set(default_length)
            differing += [
                s for s in mine["services"] if s["seance_length"] != default_length[s["id"]]
            ]
        assert differing, "the demo gives at least one member their own service length"

    async def test_unknown_location_or_member_is_404(self, api: Api) -> None:
        failed(await api.get("/book_services/999999"), 404)
        failed(await api.get(f"/book_services/{BERLIN}", params={"staff_id": 999999}), 404)
