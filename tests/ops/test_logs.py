"""Request ids and the JSON log format, in process: the id travels from X-Request-ID (or is
made) to the answer's header and to every line logged during the request."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import httpx
import pytest

from openbooking.kit.logs import JsonFormatter, RequestIdFilter, TextFormatter
from tests.bookings.helpers import CAMILLE, ny_booking, ny_service, slots
from tests.verification.conftest import NEW_YORK, Customer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi import FastAPI


class Lines(logging.Handler):
    """What `openbooking serve --log-format json` would print, line by line."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.addFilter(RequestIdFilter())
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def objects(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("openbooking")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


class TestRequestId:
    async def test_a_sane_incoming_id_is_kept(
        self, client: httpx.AsyncClient, json_lines: Lines
    ) -> None:
        response = await client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"})
        assert response.headers["x-request-id"] == "lb-7f3a.42"
        (access,) = [o for o in json_lines.objects() if o["logger"] == "openbooking.access"]
        assert access["request_id"] == "lb-7f3a.42"
        assert access["route"] == "/healthz"
        assert access["status"] == 200
        assert access["method"] == "GET"

    @pytest.mark.parametrize(
        "incoming", [None, "", "two words", "x" * 129, 'quote"d', "new\\nline", "ünïcode"]
    )
    async def test_otherwise_a_new_one_is_made(
        self, client: httpx.AsyncClient, incoming: str | None
    ) -> None:
        headers = {} if incoming is None else {b"X-Request-ID": incoming.encode()}
        first = (await client.get("/healthz", headers=headers)).headers["x-request-id"]
        second = (await client.get("/healthz", headers=headers)).headers["x-request-id"]
        assert len(first) == 32
        assert int(first, 16) >= 0
        assert first != second

    @pytest.mark.usefixtures("clock")
    async def test_every_line_of_a_booking_carries_its_id(
        self, customer: Customer, json_lines: Lines
    ) -> None:
        service = await ny_service(customer)
        when = (await slots(customer, NEW_YORK, CAMILLE, service))[0]
        json_lines.lines.clear()
        response = await customer.post(f"/book_record/{NEW_YORK}", ny_booking(service, when))
        assert response.status_code == 201
        request_id = response.headers["x-request-id"]
        logged = json_lines.objects()
        assert {o["logger"] for o in logged} >= {"openbooking.bookings", "openbooking.access"}
        assert {o.get("request_id") for o in logged} == {request_id}

    async def test_an_unexpected_error_is_500_with_the_id_in_its_log_line(
        self, app: FastAPI, json_lines: Lines
    ) -> None:
        async def broken() -> None:
            raise RuntimeError("boom")

        app.add_api_route("/broken", broken)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            response = await client.get("/broken", headers={"X-Request-ID": "trace-500"})
        assert response.status_code == 500
        assert response.headers["x-request-id"] == "trace-500"
        (error,) = [o for o in json_lines.objects() if o["logger"] == "openbooking.errors"]
        assert error["request_id"] == "trace-500"
        assert error["level"] == "ERROR"
        assert "RuntimeError: boom" in str(error["exception"])

    async def test_lines_outside_a_request_have_no_id(self, json_lines: Lines) -> None:
        logging.getLogger("openbooking.test").warning("between requests")
        (line,) = json_lines.objects()
        assert "request_id" not in line


class TestFormats:
    def record(self, message: str, *args: object, **extra: object) -> logging.LogRecord:
        record = logging.LogRecord("openbooking.x", logging.INFO, __file__, 1, message, args, None)
        record.__dict__.update(extra)
        return record

    def test_json_writes_only_known_fields(self) -> None:
        record = self.record(
            "user %s logged in",
            42,
            request_id="r1",
            password="hunter2-hunter2",  # an attribute nobody asked the formatter for
            status=201,
        )
        line = JsonFormatter().format(record)
        assert "\n" not in line
        assert "hunter2" not in line
        assert set(json.loads(line)) == {
            "time",
            "level",
            "logger",
            "message",
            "request_id",
            "status",
        }
        assert json.loads(line)["message"] == "user 42 logged in"

    def test_json_keeps_a_multi_line_message_on_one_line(self) -> None:
        line = JsonFormatter().format(self.record("first\nsecond"))
        assert "\n" not in line
        assert json.loads(line)["message"] == "first\nsecond"

    def test_text_appends_the_id_to_the_first_line(self) -> None:
        formatter = TextFormatter(use_colors=False)
        assert formatter.format(self.record("plain")) == "INFO:     plain"
        record = self.record("in a request", request_id="abc")
        assert formatter.format(record) == "INFO:     in a request request_id=abc"
