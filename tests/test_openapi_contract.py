"""Our own OpenAPI document as a contract: every operation documents its answers, and what the
server really sends, in each dialect, validates against what `/openapi.json` says.

The validation is stricter than the document: objects allow no undeclared properties, so an answer
model that forgets a field the server sends fails here as surely as one that types it wrongly.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import jsonschema
import pytest
import time_machine
from fastapi import routing

from openbooking.app import create_app
from openbooking.config import Settings
from openbooking.kit.crypto import load_or_create_key
from openbooking.kit.db import create_engine, create_sessionmaker
from openbooking.kit.envelope import ALTEGIO_MEDIA_TYPE, YCLIENTS_MEDIA_TYPE, Dialect
from openbooking.reviews.notify import send_review_requests
from openbooking.sms.outbox import read_outbox
from tests.conftest import MEDIA_TYPES, SECRETS, remember_response, remember_secrets

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from fastapi import FastAPI

    from openbooking.sms.base import SmsMessage

PREFIX = "/api/v1"
BERLIN, NEW_YORK, CAMILLE = 1001, 1002, 204
PHONE, NEW_PHONE = "+4915112345678", "+4915177777777"
PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # a Tuesday
DAY = "2026-12-03"  # a Thursday: Camille (New York) works
BODY_METHODS = {"post", "put"}


def _served() -> dict[str, Any]:
    document: dict[str, Any] = create_app(Settings(database_url="sqlite+aiosqlite://")).openapi()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def _target(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = _target(document, schema["$ref"])
    return schema


def _has_shape(document: dict[str, Any], schema: dict[str, Any]) -> bool:
    """An object with declared properties (or typed values), an array with typed items, or
    null: not `{}` and not FastAPI's `{"type": "string"}` for an undeclared answer."""
    schema = _resolved(document, schema)
    if schema.get("type") == "object":
        values = schema.get("additionalProperties")
        return bool(schema.get("properties")) or (isinstance(values, dict) and bool(values))
    if schema.get("type") == "array":
        return bool(schema.get("items"))
    return schema.get("type") == "null" or bool(schema.get("anyOf"))


def _wire_queries(app: FastAPI) -> dict[tuple[str, str], set[str]]:
    """(method, path) -> the query parameters (wire names) of the query model its
    dependencies read."""

    def calls(dependant: Any) -> list[Any]:
        return [dependant.call, *(c for sub in dependant.dependencies for c in calls(sub))]

    found: dict[tuple[str, str], set[str]] = {}
    for route in app.routes:
        if not isinstance(route, routing.APIRoute) or not route.include_in_schema:
            continue
        for call in calls(route.dependant):
            if (model := getattr(call, "wire_query", None)) is not None:
                for method in route.methods or ():
                    found[(method.lower(), route.path)] = {
                        field.alias or name for name, field in model.model_fields.items()
                    }
    return found


class TestTheDocument:
    def test_every_reference_resolves(self) -> None:
        document = _served()
        for ref in _refs(document):
            assert ref.startswith("#/components/schemas/"), ref
            _target(document, ref)  # KeyError when dangling

    def test_every_success_answer_has_a_shape_in_each_media_type(self) -> None:
        document = _served()
        for method, path, operation in _operations(document):
            successes = {k: v for k, v in operation["responses"].items() if k.startswith("2")}
            assert len(successes) == 1, (method, path, list(successes))
            (response,) = successes.values()
            content = response["content"]
            assert set(content) == {"application/json", ALTEGIO_MEDIA_TYPE, YCLIENTS_MEDIA_TYPE}
            for media_type, entry in content.items():
                schema = entry["schema"]
                assert set(schema) == {"$ref"}, (method, path, media_type, schema)
                assert _has_shape(document, schema), (method, path, media_type)
                data = _resolved(document, schema).get("properties", {}).get("data")
                if data is not None:
                    assert _has_shape(document, data), (method, path, media_type, "data")

    def test_every_error_answer_is_the_error_envelope(self) -> None:
        document = _served()
        envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
        for method, path, operation in _operations(document):
            failures = {k: v for k, v in operation["responses"].items() if not k.startswith("2")}
            assert "401" in failures, (method, path)
            for status, response in failures.items():
                assert response["content"] == {"application/json": {"schema": envelope}}, (
                    method,
                    path,
                    status,
                )
                assert response["description"], (method, path, status)
        assert "HTTPValidationError" not in document["components"]["schemas"]

    def test_requests_that_can_be_malformed_document_422(self) -> None:
        document = _served()
        for method, path, operation in _operations(document):
            typed = [
                p
                for p in operation.get("parameters", [])
                if p["in"] == "query" or (p["in"] == "path" and p["schema"].get("type") != "string")
            ]
            if typed or "requestBody" in operation:
                assert "422" in operation["responses"], (method, path)

    def test_bodies_and_query_strings_are_documented(self) -> None:
        app = create_app(Settings(database_url="sqlite+aiosqlite://"))
        document = app.openapi()
        for method, path, operation in _operations(document):
            if method in BODY_METHODS:
                body = operation.get("requestBody", {})
                assert body.get("required") is True, (method, path)
                schema = body["content"]["application/json"]["schema"]
                assert _has_shape(document, schema), (method, path)
        for (method, path), fields in _wire_queries(app).items():
            parameters = document["paths"][path][method].get("parameters", [])
            documented = {p["name"] for p in parameters if p["in"] == "query"}
            assert fields <= documented, (method, path, fields - documented)

    def test_booking_refusals_name_their_business_codes(self) -> None:
        operation = _served()["paths"][f"{PREFIX}/book_record/{{location_id}}"]["post"]
        refusal = operation["responses"]["422"]["description"]
        for code in range(431, 439):
            if code != 434:
                assert f"{code}:" in refusal, code
        assert "434:" in operation["responses"]["403"]["description"]

    def test_the_dialects_differ_where_the_references_do(self) -> None:
        paths = _served()["paths"]

        def schemas(path: str, method: str = "get") -> tuple[str, str]:
            (response,) = (
                v for k, v in paths[PREFIX + path][method]["responses"].items() if k[0] == "2"
            )
            content = response["content"]
            return (
                content[ALTEGIO_MEDIA_TYPE]["schema"]["$ref"],
                content[YCLIENTS_MEDIA_TYPE]["schema"]["$ref"],
            )

        for path in (
            "/bookform/{bookform_id}",
            "/companies",
            "/company/{location_id}",
            "/book_staff/{location_id}",
            "/book_dates/{location_id}",
            "/book_record/{location_id}/{record_id}/{record_hash}",
            "/user/records/{record_id}/{record_hash}",
        ):
            altegio, yclients = schemas(path)
            assert altegio != yclients, path
        altegio, yclients = schemas("/book_times/{location_id}/{staff_id}/{date}")
        assert altegio == yclients


# Live answers against the served document ------------------------------------------------------


def _closed(node: Any) -> Any:
    """Every object schema with declared properties allows no others."""
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _closed(value) for key, value in node.items()}
    if result.get("type") == "object" and "properties" in result:
        result.setdefault("additionalProperties", False)
    return result


class Contract:
    """Validates answers against one served document."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.components = _closed(copy.deepcopy(document["components"]))
        self.seen: set[tuple[str, str, str]] = set()

    def validator(self, path: str, method: str, status: int, media_type: str) -> Any:
        responses = self.document["paths"][PREFIX + path][method]["responses"]
        assert str(status) in responses, f"{method.upper()} {path}: {status} is not documented"
        content = responses[str(status)]["content"]
        schema = content.get(media_type, content["application/json"])["schema"]
        root = {**schema, "components": self.components}
        return jsonschema.Draft202012Validator(root)

    def check(self, path: str, method: str, response: httpx.Response, media_type: str) -> list[str]:
        validator = self.validator(path, method, response.status_code, media_type)
        errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.path))
        if response.status_code < 300:
            self.seen.add((method, path, media_type))
        return [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]


class Widget:
    """A widget client in one dialect, checking every answer against the contract."""

    def __init__(self, client: httpx.AsyncClient, token: str, dialect: Dialect) -> None:
        self.client, self.token, self.dialect = client, token, dialect
        self.contract: Contract | None = None

    async def call(
        self,
        method: str,
        template: str,
        status: int,
        *,
        path: dict[str, Any] | None = None,
        params: Any = None,
        body: Any = None,
        user: str | None = None,
        partner: bool = True,
    ) -> Any:
        """The answer's JSON, after checking its status and validating it."""
        assert self.contract is not None
        headers = {"Accept": MEDIA_TYPES[self.dialect]}
        if partner:
            headers["Authorization"] = f"Bearer {self.token}" + (f", User {user}" if user else "")
        remember_secrets(body)
        response = await self.client.request(
            method,
            PREFIX + template.format(**(path or {})),
            params=params,
            json=body,
            headers=headers,
        )
        remember_response(response)
        assert response.status_code == status, (method, template, response.text)
        problems = self.contract.check(
            template, method.lower(), response, MEDIA_TYPES[self.dialect]
        )
        assert not problems, (method, template, problems)
        return response.json()


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
async def http(app: FastAPI, demo: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def _code(settings: Settings, phone: str) -> str:
    code = str(read_outbox(settings.outbox_path(), phone)[-1]["text"]).split()[0]
    SECRETS.add(code)
    return code


async def _catalog(widget: Widget) -> int:
    """Every catalog and availability read; the New York service Camille does."""
    for form in (1, 2, 3):
        await widget.call("GET", "/bookform/{bookform_id}", 200, path={"bookform_id": form})
    await widget.call("GET", "/i18n/{lang_code}", 200, path={"lang_code": "ru-RU"})
    await widget.call("GET", "/privacy_policy/{location_id}", 200, path={"location_id": BERLIN})
    await widget.call("GET", "/companies", 200, params={"forBooking": 1})
    for location in (BERLIN, NEW_YORK):
        where = {"location_id": location}
        await widget.call(
            "GET", "/company/{location_id}", 200, path=where, params={"forBooking": 1}
        )
        staff = await widget.call("GET", "/book_staff/{location_id}", 200, path=where)
        assert staff["data"], location
    ny = {"location_id": NEW_YORK}
    services = await widget.call(
        "GET", "/book_services/{location_id}", 200, path=ny, params={"staff_id": CAMILLE}
    )
    service = int(services["data"]["services"][0]["id"])
    await widget.call(
        "GET",
        "/book_dates/{location_id}",
        200,
        path=ny,
        params={"staff_id": CAMILLE, "service_ids[]": service},
    )
    await widget.call(
        "GET",
        "/book_staff_seances/{location_id}/{staff_id}",
        200,
        path={**ny, "staff_id": CAMILLE},
    )
    return service


async def _business(widget: Widget, service: int, run_in_session: Any) -> None:
    """Every call of the business side (docs/business-api.md), as an owner of the chain."""
    from openbooking.backoffice import accounts  # noqa: PLC0415
    from openbooking.kit.pool import BoundedPool  # noqa: PLC0415
    from openbooking.verification import passwords  # noqa: PLC0415

    password_hash = await passwords.hash_password(PASSWORD, BoundedPool(1, 1))
    email = f"owner-{widget.dialect}@example.org"

    async def add(session: Any) -> None:
        await accounts.add_user(
            session,
            email=email,
            role="owner",
            location_ids=[],
            chain_id=1,
            staff_id=None,
            name="Olga",
            phone=None,
            password_hash=password_hash,
        )

    await run_in_session(add)
    login = await widget.call("POST", "/auth", 201, body={"login": email, "password": PASSWORD})
    user = login["data"]["user_token"]
    ny = {"location_id": NEW_YORK}
    await widget.call("GET", "/companies", 200, params={"my": 1}, user=user)
    await widget.call("GET", "/staff/{location_id}", 200, path=ny, user=user)
    member = {**ny, "staff_id": CAMILLE}
    await widget.call("GET", "/staff/{location_id}/{staff_id}", 200, path=member, user=user)
    await widget.call("GET", "/services/{location_id}", 200, path=ny, user=user)
    await widget.call("GET", "/company/{location_id}/services", 200, path=ny, user=user)
    one = {**ny, "service_id": service}
    await widget.call("GET", "/services/{location_id}/{service_id}", 200, path=one, user=user)
    body = {
        "staff_id": CAMILLE,
        "services": [{"id": service}],
        "datetime": f"{DAY}T20:00:00",
        "client": {"name": "Ada Lovelace", "phone": "+12125550188"},
    }
    made = await widget.call("POST", "/records/{location_id}", 201, path=ny, body=body, user=user)
    record = {**ny, "record_id": made["data"][0]["id"]}
    await widget.call("GET", "/records/{location_id}", 200, path=ny, user=user)
    await widget.call(
        "PUT",
        "/record/{location_id}/{record_id}",
        201,
        path=record,
        body={"comment": "hi"},
        user=user,
    )
    await widget.call("GET", "/record/{location_id}/{record_id}", 200, path=record, user=user)
    await widget.call("DELETE", "/record/{location_id}/{record_id}", 200, path=record, user=user)
    clients = await widget.call("GET", "/clients/{location_id}", 200, path=ny, user=user)
    client = {**ny, "client_id": clients["data"][0]["id"]}
    await widget.call("GET", "/client/{location_id}/{client_id}", 200, path=client, user=user)
    span = {**member, "start_date": "2026-12-24", "end_date": "2026-12-24"}
    schedule = "/schedule/{location_id}/{staff_id}/{start_date}/{end_date}"
    await widget.call("GET", schedule, 200, path=span, user=user)
    day = [{"date": "2026-12-24", "is_working": True, "slots": [{"from": "10:00", "to": "18:00"}]}]
    await widget.call("PUT", schedule, 200, path=span, body=day, user=user)
    await widget.call(
        "PUT", "/schedule/{location_id}/{staff_id}", 200, path=member, body=day[0], user=user
    )
    session = {
        "date": f"{DAY}T14:00:00",
        "service_id": service,
        "staff_id": CAMILLE,
        "capacity": 4,
        "force": True,
    }
    made = await widget.call(
        "POST", "/activity/{location_id}", 200, path=ny, body=session, user=user
    )
    event = {**ny, "activity_id": made["data"]["id"]}
    await widget.call("GET", "/activity/{location_id}/{activity_id}", 200, path=event, user=user)
    await widget.call(
        "PUT",
        "/activity/{location_id}/{activity_id}",
        200,
        path=event,
        body={"capacity": 5},
        user=user,
    )
    await widget.call("DELETE", "/activity/{location_id}/{activity_id}", 202, path=event, user=user)


async def _account(widget: Widget, settings: Settings) -> str:
    """Phone login, profile, password, password login, profile change, phone-change code."""
    berlin = {"location_id": BERLIN}
    sent = await widget.call(
        "POST", "/book_code/{location_id}", 201, path=berlin, body={"phone": PHONE}
    )
    assert sent["meta"] == {"message": "Created"}
    await widget.call("POST", "/book_code/{location_id}", 429, path=berlin, body={"phone": PHONE})
    login = await widget.call(
        "POST", "/user/auth", 201, body={"phone": PHONE, "code": _code(settings, PHONE)}
    )
    token = str(login["data"]["user_token"])
    await widget.call("GET", "/booking/user/data", 200, user=token)
    changed = await widget.call(
        "PUT", "/booking/user/password", 200, user=token, body={"new_password": PASSWORD}
    )
    token = str(changed["data"]["user_token"])
    await widget.call("POST", "/booking/auth", 201, body={"login": PHONE, "password": PASSWORD})
    await widget.call("POST", "/booking/auth", 401, body={"login": PHONE, "password": "wrong"})
    await widget.call(
        "PUT", "/booking/user", 202, user=token, body={"name": "Ada", "email": "ada@example.org"}
    )
    await widget.call("GET", "/booking/user/data", 200, user=token)
    await widget.call(
        "GET",
        "/booking/user/phone_confirmation",
        202,
        user=token,
        params={"company_id": BERLIN, "phone": NEW_PHONE},
    )
    return token


async def _bookings(widget: Widget, service: int, token: str) -> None:
    """Check, book, read (hash, token), reschedule, list, cancel (hash, token), refusals."""
    ny = {"location_id": NEW_YORK}
    times = await widget.call(
        "GET",
        "/book_times/{location_id}/{staff_id}/{date}",
        200,
        path={**ny, "staff_id": CAMILLE, "date": DAY},
        params={"service_ids": service},
    )
    free = [slot["datetime"] for slot in times["data"]]

    def appointment(when: str) -> dict[str, Any]:
        return {"id": 1, "services": [service], "staff_id": CAMILLE, "datetime": when}

    checked = await widget.call(
        "POST", "/book_check/{location_id}", 201, path=ny, body=[appointment(free[0])]
    )
    assert checked["meta"] == {"message": "Created"}
    booked = []
    for when in (free[0], free[4]):
        body = {
            "phone": PHONE,
            "fullname": "Ada",
            "email": "ada@example.org",
            "appointments": [appointment(when)],
        }
        created = await widget.call("POST", "/book_record/{location_id}", 201, path=ny, body=body)
        booked.append(created["data"][0])
    first, second = booked
    taken = await widget.call(
        "POST", "/book_check/{location_id}", 422, path=ny, body=[appointment(free[4])]
    )
    assert taken["meta"]["errors"][0]["code"] == 433
    record = {**ny, "record_id": first["record_id"], "record_hash": first["record_hash"]}
    await widget.call(
        "GET", "/book_record/{location_id}/{record_id}/{record_hash}", 200, path=record
    )
    await widget.call("GET", "/book_record/{location_id}/{record_id}", 200, path=record, user=token)
    moved = await widget.call(
        "PUT",
        "/book_record/{location_id}/{record_id}",
        200,
        path=record,
        user=token,
        body={"datetime": free[8], "comment": "later"},
    )
    assert moved["data"]["comment"] == "later"
    await widget.call("GET", "/user/records/{record_id}/{record_hash}", 201, path=record)
    mine = await widget.call("GET", "/user/records/{record_id}", 201, path=record, user=token)
    assert len(mine["data"]) == 2
    await widget.call("DELETE", "/user/records/{record_id}/{record_hash}", 200, path=record)
    await widget.call("DELETE", "/user/records/{record_id}", 200, path=second, user=token)
    await widget.call(
        "GET",
        "/user/records/{record_id}/{record_hash}",
        404,
        path={**record, "record_hash": "0" * 32},
    )


async def _activities(widget: Widget) -> None:
    """Group events: search, dates, date range, filters, and a seat."""
    ny = {"location_id": NEW_YORK}
    december = {"from": "2026-12-01", "till": "2026-12-31"}
    found = await widget.call(
        "GET", "/activity/{location_id}/search", 200, path=ny, params=december
    )
    assert found["data"], found
    await widget.call("GET", "/activity/{location_id}/search_dates", 200, path=ny, params=december)
    await widget.call("GET", "/activity/{location_id}/search_dates_range", 200, path=ny)
    await widget.call("GET", "/activity/{location_id}/filters", 200, path=ny)
    session = {**ny, "event_id": found["data"][0]["id"]}
    body = {"fullname": "Ada", "phone": PHONE, "email": "ada@example.org", "clients_count": 2}
    await widget.call(
        "POST", "/activity/{location_id}/{event_id}/book", 200, path=session, body=body
    )
    again = await widget.call(
        "POST", "/activity/{location_id}/{event_id}/book", 422, path=session, body=body
    )
    assert again["meta"]["errors"][0]["code"] == 443


async def _errors(widget: Widget) -> None:
    await widget.call("GET", "/bookform/{bookform_id}", 401, path={"bookform_id": 1}, partner=False)
    await widget.call("GET", "/bookform/{bookform_id}", 404, path={"bookform_id": 999_999})
    await widget.call("GET", "/company/{location_id}", 422, path={"location_id": "abc"})
    await widget.call(
        "GET",
        "/book_dates/{location_id}",
        422,
        path={"location_id": NEW_YORK},
        params={"date_from": "2026-12-01"},
    )
    refused = await widget.call(
        "POST",
        "/book_record/{location_id}",
        422,
        path={"location_id": NEW_YORK},
        body={"phone": PHONE, "fullname": "Ada", "appointments": [{"datetime": "tomorrow"}]},
    )
    assert refused["meta"]["errors"][0]["field"] == "appointments[0].datetime"


async def _reviews_and_the_rest(widget: Widget, settings: Settings, service: int) -> None:
    """A visit that has ended, its review request, the form, the review and a second one;
    the timeslot grid; a phone check."""
    ny = {"location_id": NEW_YORK}
    await widget.call("GET", "/company/{location_id}/settings/timeslots", 200, path=ny)
    for phone in (PHONE, "12345"):
        await widget.call("GET", "/validation/validate_phone/{phone}", 200, path={"phone": phone})
    times = await widget.call(
        "GET",
        "/book_times/{location_id}/{staff_id}/{date}",
        200,
        path={**ny, "staff_id": CAMILLE, "date": DAY},
        params={"service_ids": service},
    )
    when = times["data"][-1]["datetime"]
    body = {
        "phone": "+12125550123",
        "fullname": "Ada",
        "email": "ada@example.org",
        "appointments": [{"id": 1, "services": [service], "staff_id": CAMILLE, "datetime": when}],
    }
    await widget.call("POST", "/book_record/{location_id}", 201, path=ny, body=body)
    outbox = ReviewOutbox()
    with time_machine.travel(datetime.fromisoformat(when) + timedelta(hours=4), tick=False):
        engine = create_engine(settings.database_url)
        try:
            await send_review_requests(
                create_sessionmaker(engine),
                outbox,
                key=load_or_create_key(settings.var_dir / "secret-key"),
                link="https://book.example.org/review/{token}",
            )
        finally:
            await engine.dispose()
        token = {"record_token": outbox.token()}
        path = "/master_record_review/{record_token}"
        await widget.call("GET", path, 200, path=token)
        await widget.call("POST", path, 200, path=token, body={"rating": 5, "tips_amount": 3})
        await widget.call("POST", path, 409, path=token, body={"rating": 4})
        await widget.call("POST", path, 422, path=token, body={"rating": 9})
        await widget.call("GET", path, 404, path={"record_token": "A" * 16})


class ReviewOutbox:
    def __init__(self) -> None:
        self.texts: list[str] = []

    async def send(self, message: SmsMessage) -> None:
        self.texts.append(message.text)

    def token(self) -> str:
        (text,) = self.texts
        token = text.rsplit("/", 1)[-1]
        SECRETS.add(token)
        return token


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize("dialect", [Dialect.ALTEGIO, Dialect.YCLIENTS])
async def test_every_answer_matches_the_served_document(
    http: httpx.AsyncClient,
    partner_token: str,
    settings: Settings,
    dialect: Dialect,
    run_in_session: Any,
) -> None:
    served = await http.get("/openapi.json")
    assert served.status_code == 200
    contract = Contract(served.json())
    widget = Widget(http, partner_token, dialect)
    widget.contract = contract
    service = await _catalog(widget)
    token = await _account(widget, settings)
    await _bookings(widget, service, token)
    await _activities(widget)
    await _business(widget, service, run_in_session)
    await _errors(widget)
    await _reviews_and_the_rest(widget, settings, service)
    every = {
        (method, path.removeprefix(PREFIX), MEDIA_TYPES[dialect])
        for method, path, _ in _operations(contract.document)
    }
    assert contract.seen == every, f"never answered: {sorted(every - contract.seen)}"


def test_strict_validation_catches_a_wrong_type_and_an_undeclared_field() -> None:
    contract = Contract(_served())
    path = "/book_staff_seances/{location_id}/{staff_id}"
    slot: dict[str, Any] = {"time": "10:00", "seance_length": 60, "sum_length": 60, "datetime": ""}
    data: dict[str, Any] = {"seance_date": "2026-12-03", "seances": [slot]}
    good: dict[str, Any] = {"success": True, "data": data, "meta": []}

    def problems(body: Any, media_type: str = ALTEGIO_MEDIA_TYPE) -> list[str]:
        response = httpx.Response(200, json=body)
        return contract.check(path, "get", response, media_type)

    assert problems(good) == []
    wrong_type = {**good, "data": {**data, "seances": [{**slot, "sum_length": "60"}]}}
    assert problems(wrong_type) == ["data.seances.0.sum_length: '60' is not of type 'integer'"]
    extra = {**good, "data": {**data, "seance_time": ""}}
    assert problems(extra)
    assert problems({**good, "meta": {}})
    # Each dialect's own type for a member's `weight`, and only that one.
    staff = "/book_staff/{location_id}"

    def weight_refused(media_type: str, weight: object) -> bool:
        validator = contract.validator(staff, "get", 200, media_type)
        answer = {"success": True, "data": [{"weight": weight}], "meta": []}
        return any(list(e.absolute_path)[-1:] == ["weight"] for e in validator.iter_errors(answer))

    assert not weight_refused(ALTEGIO_MEDIA_TYPE, 10)
    assert weight_refused(ALTEGIO_MEDIA_TYPE, "10")
    assert weight_refused(YCLIENTS_MEDIA_TYPE, 10)
    assert not weight_refused(YCLIENTS_MEDIA_TYPE, "10")
