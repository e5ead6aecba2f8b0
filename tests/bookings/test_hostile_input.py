"""T25-T27 on book_record: injection in every string field, oversized and malformed bodies.

Each answer is a 4xx in the envelope or a booking that stores the text verbatim; never a 5xx,
never a database error's text, and a refused request books nothing.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from openbooking.models import Record
from tests.bookings.helpers import CAMILLE, ny_booking, ny_service, record_count, slots
from tests.verification.conftest import NEW_YORK

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx
    from fastapi import FastAPI

    from tests.verification.conftest import Customer

pytestmark = pytest.mark.usefixtures("clock", "demo")

PATH = f"/api/v1/book_record/{NEW_YORK}"
INJECTIONS = [
    "' OR 1=1--",
    "'); DROP TABLE records;--",
    "{{7*7}}",
    "${7*7}",
    "%s%s%n",
    "<script>alert(1)</script>",
    "line\r\nX-Injected: 1",
    "nul\x00byte",
    "rtl\u202eoverride",
    "zero\u200bwidth",
    "emoji 💇‍♀️",
]
DATABASE_WORDS = ("sqlite", "asyncpg", "psycopg", "syntax error", "traceback", "sqlalchemy")


def refused_cleanly(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert body["success"] is False
    assert body["meta"]["message"]
    assert not any(word in response.text.lower() for word in DATABASE_WORDS), response.text


async def stored(run_in_session: Any) -> list[Record]:
    return list(await run_in_session(lambda session: session.scalars(select(Record))))


async def first_free(customer: Customer, service: int) -> str:
    """Camille's first free start from the test day on (she works Tuesday to Saturday)."""
    for day in ("2026-12-03", "2026-12-04", "2026-12-05"):
        free = await slots(customer, NEW_YORK, CAMILLE, service, day)
        if free:
            return free[0]
    raise AssertionError("no free slot left")


async def post(customer: Customer, content: bytes, content_type: str) -> httpx.Response:
    return await customer.client.post(
        PATH,
        content=content,
        headers={"Authorization": f"Bearer {customer.token}", "Content-Type": content_type},
    )


class TestInjection:
    @pytest.mark.parametrize(
        "field", ["fullname", "comment", "email", "phone", "api_id", "code", "custom_fields"]
    )
    async def test_t25_every_string_field(
        self, customer: Customer, run_in_session: Any, field: str
    ) -> None:
        service = await ny_service(customer)
        booked: dict[str, str] = {}
        for payload in INJECTIONS:
            body = ny_booking(service, await first_free(customer, service))
            body[field] = {"note": payload} if field == "custom_fields" else payload
            response = await customer.post(f"/book_record/{NEW_YORK}", body)
            if response.status_code == 201:
                booked[str(response.json()["data"][0]["record_id"])] = payload
            else:
                refused_cleanly(response)
        records = {str(record.id): record for record in await stored(run_in_session)}
        assert set(records) == set(booked), "a refused request booked nothing"
        for record_id, payload in booked.items():
            record = records[record_id]
            kept = {
                "fullname": record.client_name,
                "comment": record.comment,
                "email": record.client_email,
                "api_id": record.api_id,
                "custom_fields": record.custom_fields.get("note"),
                "code": payload,  # New York asks for no code: it is ignored
                "phone": None,
            }[field]
            expected = payload.strip()
            if field == "comment":  # a multi-line field: line breaks become LF
                expected = expected.replace("\r\n", "\n")
            assert kept == expected, (field, payload, kept)

    async def test_injections_in_path_and_query_are_plain_404_or_422(
        self, customer: Customer
    ) -> None:
        for raw in ("1%27%20OR%201=1--", "1;DROP%20TABLE%20records", "%00", "..%2F..%2Fetc"):
            response = await customer.get(f"/book_record/{NEW_YORK}/{raw}/{raw}")
            refused_cleanly(response)
            response = await customer.get(
                f"/book_times/{NEW_YORK}/{CAMILLE}/2026-12-03", params={"service_ids": raw}
            )
            refused_cleanly(response)

    async def test_ids_beyond_the_integer_columns_are_refused_cleanly(
        self, customer: Customer
    ) -> None:
        big = 2**31  # PostgreSQL's integer columns end just below
        for path in (
            f"/book_record/{NEW_YORK}/{big}/00",
            f"/book_record/{big}/1/00",
            f"/book_staff/{big}",
            f"/company/{big}",
            f"/book_times/{NEW_YORK}/{big}/2026-12-03",
        ):
            refused_cleanly(await customer.get(path))

    async def test_multiline_comments_are_kept(
        self, customer: Customer, run_in_session: Any
    ) -> None:
        service = await ny_service(customer)
        when = (await slots(customer, NEW_YORK, CAMILLE, service))[0]
        body = ny_booking(service, when, comment="window seat\r\nplease\tthanks")
        assert (await customer.post(f"/book_record/{NEW_YORK}", body)).status_code == 201
        (record,) = await stored(run_in_session)
        assert record.comment == "window seat\nplease\tthanks"


class TestHostileBodies:
    async def valid(self, customer: Customer) -> dict[str, Any]:
        service = await ny_service(customer)
        return ny_booking(service, (await slots(customer, NEW_YORK, CAMILLE, service))[0])

    @pytest.mark.parametrize(
        ("name", "status"),
        [
            ("64 KiB + 1", 413),
            ("1 MiB", 413),
            ("a 10^6-character name", 413),
            ("nested 10,000 deep", 400),
            ("a 5,000-digit integer", 400),
        ],
    )
    async def test_t26_oversized(
        self, customer: Customer, run_in_session: Any, name: str, status: int
    ) -> None:
        body = json.dumps(await self.valid(customer))
        content = {
            "64 KiB + 1": body[:-1] + ', "comment": "' + "x" * 65536 + '"}',
            "1 MiB": body[:-1] + ', "comment": "' + "x" * (1 << 20) + '"}',
            "a 10^6-character name": body.replace("Grace Hopper", "G" * 1_000_000),
            "nested 10,000 deep": '{"appointments": ' + "[" * 10_000 + "]" * 10_000 + "}",
            "a 5,000-digit integer": body[:-1] + ', "api_id": ' + "9" * 5000 + "}",
        }[name].encode()
        response = await post(customer, content, "application/json")
        assert response.status_code == status, response.text
        refused_cleanly(response)
        assert await stored(run_in_session) == []

    @pytest.mark.parametrize(
        "name",
        [
            "truncated",
            "trailing comma",
            "byte order mark",
            "duplicate keys",
            "NaN",
            "Infinity",
            "1e999",
            "lone surrogate",
            "not UTF-8",
            "an array",
            "a string",
            "null",
            "appointments as an object",
            "services as a string",
            "staff_id as a float",
            "datetime as a number",
        ],
    )
    async def test_t27_malformed(self, customer: Customer, run_in_session: Any, name: str) -> None:
        valid = await self.valid(customer)
        body = json.dumps(valid)
        appointment = valid["appointments"][0]

        def with_appointment(**change: Any) -> bytes:
            return json.dumps({**valid, "appointments": [{**appointment, **change}]}).encode()

        content = {
            "truncated": body[: len(body) // 2].encode(),
            "trailing comma": (body[:-1] + ",}").encode(),
            "byte order mark": b"\xef\xbb\xbf" + body.encode(),
            "duplicate keys": (body[:-1] + ', "phone": "+12125550199"}').encode(),
            "NaN": (body[:-1] + ', "notify_by_sms": NaN}').encode(),
            "Infinity": (body[:-1] + ', "notify_by_sms": Infinity}').encode(),
            "1e999": (body[:-1] + ', "notify_by_sms": 1e999}').encode(),
            "lone surrogate": body.replace("Grace", "\\ud800").encode(),
            "not UTF-8": body.replace("Grace", "Gr\xe2ce").encode("latin-1"),
            "an array": b"[1, 2, 3]",
            "a string": b'"book me"',
            "null": b"null",
            "appointments as an object": json.dumps({**valid, "appointments": {}}).encode(),
            "services as a string": with_appointment(services="101"),
            "staff_id as a float": with_appointment(staff_id=204.5),
            "datetime as a number": with_appointment(datetime=1764770400),
        }[name]
        refused_cleanly(await post(customer, content, "application/json"))
        assert await stored(run_in_session) == []

    @pytest.mark.parametrize(
        "content_type", ["text/plain", "application/xml", "multipart/form-data"]
    )
    async def test_t27_wrong_content_type_is_415(
        self, customer: Customer, run_in_session: Any, content_type: str
    ) -> None:
        response = await post(
            customer, json.dumps(await self.valid(customer)).encode(), content_type
        )
        assert response.status_code == 415, response.text
        refused_cleanly(response)
        assert await stored(run_in_session) == []

    async def test_a_valid_body_books(self, customer: Customer, run_in_session: Any) -> None:
        """The same helper's body, unharmed, is accepted: the refusals above are about the harm."""
        response = await post(
            customer, json.dumps(await self.valid(customer)).encode(), "application/json"
        )
        assert response.status_code == 201, response.text
        assert await run_in_session(record_count) == 1


async def test_a_client_gone_mid_body_is_one_info_line(
    app: FastAPI, partner_token: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that hangs up while sending its body is no server error: no traceback, no
    ERROR (a flood of them would bury real errors), and nothing is booked."""
    caplog.set_level(logging.INFO)
    messages: Iterator[dict[str, Any]] = iter(
        [
            {"type": "http.request", "body": b'{"phone": "+1212', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"authorization", f"Bearer {partner_token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", b"1000"),
        ],
        "client": ("203.0.113.9", 40000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [r for r in caplog.records if r.exc_info]
    gone = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(gone) == 1
    assert gone[0].levelno == logging.INFO
