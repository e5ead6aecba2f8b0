"""Property-based fuzzing of our own OpenAPI document (schemathesis) against the real app.

Every operation of the committed `openapi.json` is fuzzed in each dialect (the `Accept` header)
against the app in-process (ASGI), on a freshly migrated SQLite file with the demo loaded, with a
partner token, a customer's user token on about half the requests, and the clock fixed. Each
answer must not be a 5xx, must have a documented status and content type, and its body must
validate against the schema the document gives for that status and the dialect's media type.

Generation is derandomized and bounded (`MAX_EXAMPLES` per operation and dialect, plus
schemathesis's explicit examples and its coverage phase of boundary values), so a run is
reproducible. Generated ids are steered, some of the time, towards the demo's real locations,
staff, services, bookforms, languages and bookings, so that success answers are fuzzed too.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import requests
import schemathesis
import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.core.failures import FailureGroup

from openbooking.app import close_resources, create_app
from openbooking.business import service as business
from openbooking.config import Settings
from openbooking.kit.db import create_sessionmaker
from openbooking.kit.envelope import Dialect
from openbooking.partners import service as partners
from openbooking.sms.outbox import read_outbox
from tests.conftest import MEDIA_TYPES, SECRETS, remember_response
from tests.test_openapi_contract import Contract

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi import FastAPI
    from schemathesis.generation.case import Case as AnyCase
    from schemathesis.hooks import HookContext

    Case = AnyCase[Any]

DOCUMENT = Path(__file__).resolve().parents[1] / "openapi.json"
PREFIX = "/api/v1"
# 20 in the suite; a longer run: OPENBOOKING_FUZZ_EXAMPLES=500 ./scripts/test tests/test_fuzz.py
MAX_EXAMPLES = int(os.environ.get("OPENBOOKING_FUZZ_EXAMPLES", "20"))
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # a Tuesday
DAY = "2026-12-03"  # a Thursday: Camille (New York) works
BERLIN, NEW_YORK, CAMILLE = 1001, 1002, 204
PHONE = "+4915112345678"
CUSTOMER = "x-fuzz-customer"  # drawn per case; says whether to send the user token

schema = schemathesis.openapi.from_path(DOCUMENT)
CONTRACT = Contract(json.loads(DOCUMENT.read_text()))

# Values worth trying for a parameter or body field of this name, besides the generated one.
# The booking ids and hashes are filled in when the demo is loaded (`Server`).
BASE: dict[str, list[Any]] = {
    "location_id": [BERLIN, NEW_YORK],
    "company_id": [BERLIN, NEW_YORK],
    "staff_id": [201, CAMILLE, -1],
    "bookform_id": [1, 2, 3],
    "lang_code": ["en-US", "ru-RU"],
    "date": [DAY],
    "date_from": [DAY],
    "date_to": ["2026-12-10"],
    "phone": [PHONE],
    "login": [PHONE],
    "email": ["ada@example.org"],
    "fullname": ["Ada Lovelace"],
    "name": ["Ada"],
}
KNOWN: dict[str, list[Any]] = {}


def _steered(value: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """`value` as generated, or with some of its known fields replaced by real ones."""
    if isinstance(value, dict) and depth < 3:
        return st.fixed_dictionaries(
            {
                key: st.one_of(st.sampled_from(KNOWN[key]), st.just(item))
                if KNOWN.get(key)
                else _steered(item, depth + 1)
                for key, item in value.items()
            }
        )
    if isinstance(value, list) and depth < 3:
        return st.tuples(*(_steered(item, depth + 1) for item in value)).map(list)
    return st.just(value)


@schema.hook
def flatmap_path_parameters(context: HookContext, path_parameters: dict[str, Any]) -> Any:
    return _steered(path_parameters)


@schema.hook
def flatmap_query(context: HookContext, query: dict[str, Any]) -> Any:
    return _steered(query)


@schema.hook
def flatmap_body(context: HookContext, body: Any) -> Any:
    return _steered(body)


@schema.hook
def flatmap_headers(context: HookContext, headers: dict[str, Any] | None) -> Any:
    return st.booleans().map(lambda customer: {**(headers or {}), CUSTOMER: str(customer)})


class Server:
    """The app on its own event loop, which every generated request of one test shares."""

    def __init__(self, app: FastAPI, settings_: Settings) -> None:
        self.app, self.settings = app, settings_
        self.runner = asyncio.Runner()
        self.partner = self.runner.run(self._prepare())
        self.user = ""
        SECRETS.add(self.partner)

    async def _prepare(self) -> str:
        async with create_sessionmaker(self.app.state.engine)() as session, session.begin():
            await business.load_demo_once(session)
            return await partners.create(session, "fuzz")

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.partner}", **kwargs.pop("headers", {})}
        return self.runner.run(self._send(method, PREFIX + path, headers=headers, **kwargs))

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.request(method, url, **kwargs)
        remember_response(response)
        return response

    def book(self) -> None:
        """A customer with a user token and two bookings in New York: real ids to fuzz with."""
        sent = self.request("POST", f"/book_code/{BERLIN}", json={"phone": PHONE})
        assert sent.status_code == 201, sent.text
        code = str(read_outbox(self.settings.outbox_path(), PHONE)[-1]["text"]).split()[0]
        SECRETS.add(code)
        login = self.request("POST", "/user/auth", json={"phone": PHONE, "code": code})
        assert login.status_code == 201, login.text
        self.user = str(login.json()["data"]["user_token"])
        services = self.request("GET", f"/book_services/{NEW_YORK}?staff_id={CAMILLE}").json()
        service = int(services["data"]["services"][0]["id"])
        times = self.request(
            "GET", f"/book_times/{NEW_YORK}/{CAMILLE}/{DAY}?service_ids={service}"
        ).json()
        free = [slot["datetime"] for slot in times["data"]]
        KNOWN.clear()
        KNOWN.update(
            BASE,
            service_ids=[[service], service],
            services=[[service]],
            datetime=[free[2], free[6], DAY],
        )
        for when in (free[0], free[4]):
            appointment = {"id": 1, "services": [service], "staff_id": CAMILLE, "datetime": when}
            body = {
                "phone": PHONE,
                "fullname": "Ada",
                "email": "ada@example.org",
                "appointments": [appointment],
            }
            created = self.request("POST", f"/book_record/{NEW_YORK}", json=body)
            assert created.status_code == 201, created.text
            record = created.json()["data"][0]
            KNOWN.setdefault("record_id", []).append(record["record_id"])
            KNOWN.setdefault("record_hash", []).append(record["record_hash"])

    def send(self, case: Case, dialect: Dialect) -> httpx.Response:
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        kwargs.pop("cookies", None)
        prepared = requests.Request(**kwargs).prepare()
        customer = prepared.headers.pop(CUSTOMER, "False") == "True"
        prepared.headers["Authorization"] = f"Bearer {self.partner}" + (
            f", User {self.user}" if customer and self.user else ""
        )
        prepared.headers["Accept"] = MEDIA_TYPES[dialect]
        return self.runner.run(
            self._send(
                prepared.method or "GET",
                prepared.url or "",
                headers=dict(prepared.headers),
                content=prepared.body,
            )
        )

    def close(self) -> None:
        self.runner.run(close_resources(self.app))
        self.runner.close()


@pytest.fixture
def server(sqlite_template: Path, tmp_path: Path) -> Iterator[Server]:
    path = tmp_path / "fuzz.db"
    shutil.copyfile(sqlite_template, path)
    settings_ = Settings(database_url=f"sqlite+aiosqlite:///{path}", var_dir=tmp_path / "var")
    with time_machine.travel(NOW, tick=False):
        running = Server(create_app(settings_), settings_)
        try:
            running.book()
            yield running
        finally:
            running.close()


def conforms(case: Case, response: httpx.Response, dialect: Dialect) -> None:
    """Raise schemathesis's `FailureGroup` unless the answer is what the document says."""
    case.validate_response(
        response,
        checks=[
            checks.not_a_server_error,
            checks.status_code_conformance,
            checks.content_type_conformance,
        ],
    )
    # The server labels every answer `application/json`; what the body looks like in a dialect
    # is documented under that dialect's media type (errors have one shape, in JSON only).
    documented = case.operation.definition.raw["responses"].get(str(response.status_code), {})
    if MEDIA_TYPES[dialect] in documented.get("content", {}):
        response.headers["content-type"] = MEDIA_TYPES[dialect]
    case.validate_response(response, checks=[checks.response_schema_conformance])
    # Stricter than the document, as in the contract test: no undeclared field in any object.
    if case.method.lower() == case.operation.method.lower():
        path = case.operation.path.removeprefix(PREFIX)
        problems = CONTRACT.check(path, case.method.lower(), response, MEDIA_TYPES[dialect])
        assert not problems, (case.method, case.formatted_path, response.status_code, problems)


@pytest.mark.parametrize("dialect", [Dialect.ALTEGIO, Dialect.YCLIENTS])
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # One server (and database) per operation and dialect serves all its examples, on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_fuzz(case: Case, server: Server, dialect: Dialect) -> None:
    conforms(case, server.send(case, dialect), dialect)


# The checks are real -----------------------------------------------------------------------------


def _refused(case: Case, response: httpx.Response, dialect: Dialect) -> list[str]:
    try:
        conforms(case, response, dialect)
    except FailureGroup as group:
        return [type(failure).__name__ for failure in group.exceptions]
    except AssertionError:
        return ["Undeclared"]
    return []


def _answer(real: httpx.Response, status: int, body: Any) -> httpx.Response:
    answer = httpx.Response(status, json=body, request=real.request)
    answer.elapsed = real.elapsed
    return answer


def test_a_wrong_answer_fails_the_checks(server: Server) -> None:
    operation = schema[f"{PREFIX}/book_staff/{{location_id}}"]["GET"]
    case = operation.Case(path_parameters={"location_id": NEW_YORK})
    real = server.send(case, Dialect.ALTEGIO)
    assert real.status_code == 200
    assert _refused(case, real, Dialect.ALTEGIO) == []
    body = real.json()
    member = body["data"][0]
    assert isinstance(member["weight"], int)
    # A field of the wrong type, a missing required field, a wrong envelope.
    wrong_type = {**body, "data": [{**member, "name": 42}]}
    missing = {**body, "data": [{k: v for k, v in member.items() if k != "id"}]}
    for wrong in (wrong_type, missing, {**body, "success": False}, {**body, "meta": {}}):
        assert _refused(case, _answer(real, 200, wrong), Dialect.ALTEGIO) == ["JsonSchemaError"], (
            wrong
        )
    # A field the document does not declare (the document's objects are open; ours are not).
    extra = {**body, "data": [{**member, "nickname": "Cam"}]}
    assert _refused(case, _answer(real, 200, extra), Dialect.ALTEGIO) == ["Undeclared"]
    # Each dialect's own shape: the YCLIENTS reference types `weight` as a string.
    assert _refused(case, _answer(real, 200, body), Dialect.YCLIENTS) == ["JsonSchemaError"]
    yclients = {**body, "data": [{**member, "weight": str(member["weight"])}]}
    assert _refused(case, _answer(real, 200, yclients), Dialect.YCLIENTS) == []
    # An undocumented status, a server error and an error in the wrong shape.
    error = {"success": False, "data": None, "meta": {"message": "no"}}
    assert "UndefinedStatusCode" in _refused(case, _answer(real, 409, error), Dialect.ALTEGIO)
    assert "ServerError" in _refused(case, _answer(real, 500, error), Dialect.ALTEGIO)
    assert _refused(case, _answer(real, 404, {"detail": "Not Found"}), Dialect.ALTEGIO) == [
        "JsonSchemaError"
    ]
    assert _refused(case, _answer(real, 404, error), Dialect.ALTEGIO) == []
