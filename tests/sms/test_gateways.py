"""Twilio and the generic HTTP sender against a real local server."""

from __future__ import annotations

import base64
import json
import traceback
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbooking.sms.base import SmsDeliveryError, SmsMessage
from openbooking.sms.http import HttpSender
from openbooking.sms.twilio import TwilioSender
from tests.sms.conftest import SECRET_TEXT

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from tests.sms.conftest import FakeGateway

TOKEN = "twilio-token-secret"
API_KEY = "gateway-key-secret"
TEMPLATE = '{"phone": "{to}", "message": "{text}", "location": {location_id}, "kind": "otp"}'
MESSAGE = SmsMessage(to="+4915112345678", text=SECRET_TEXT, location_id=7)
# Long enough for a busy CI machine to connect; only the gateway that hangs waits for it.
TIMEOUT = 5.0
HANG_TIMEOUT = 0.2
Sender = TwilioSender | HttpSender


def twilio(url: str, timeout: float = TIMEOUT) -> TwilioSender:
    return TwilioSender("AC123", TOKEN, "+15550001111", url + "/", timeout)


def http(url: str, timeout: float = TIMEOUT) -> HttpSender:
    return HttpSender(url + "/sms?channel=otp", {"X-Api-Key": API_KEY}, TEMPLATE, timeout)


@pytest.fixture(params=[twilio, http], ids=["twilio", "http"])
async def make_sender(
    request: pytest.FixtureRequest,
) -> AsyncIterator[Callable[..., Sender]]:
    made: list[Sender] = []

    def make(url: str, timeout: float = TIMEOUT) -> Sender:
        made.append(request.param(url, timeout))
        return made[-1]

    yield make
    for sender in made:
        await sender.aclose()


class TestTwilioSender:
    async def test_posts_the_form_with_basic_auth(self, gateway: FakeGateway) -> None:
        sender = twilio(gateway.url)
        try:
            await sender.send(MESSAGE)
        finally:
            await sender.aclose()
        [request] = gateway.requests
        assert request.method == "POST"
        assert request.path == "/2010-04-01/Accounts/AC123/Messages.json"
        expected_auth = base64.b64encode(f"AC123:{TOKEN}".encode()).decode()
        assert request.headers["authorization"] == f"Basic {expected_auth}"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        form = parse_qs(request.body.decode(), strict_parsing=True)
        assert form == {"To": [MESSAGE.to], "From": ["+15550001111"], "Body": [SECRET_TEXT]}


class TestHttpSender:
    async def test_posts_the_rendered_json_with_headers(self, gateway: FakeGateway) -> None:
        sender = http(gateway.url)
        try:
            await sender.send(MESSAGE)
        finally:
            await sender.aclose()
        [request] = gateway.requests
        assert request.method == "POST"
        assert request.path == "/sms?channel=otp"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["x-api-key"] == API_KEY
        assert json.loads(request.body) == {
            "phone": MESSAGE.to,
            "message": SECRET_TEXT,
            "location": 7,
            "kind": "otp",
        }

    async def test_configured_headers_may_replace_the_content_type(
        self, gateway: FakeGateway
    ) -> None:
        headers = {"content-type": "application/json; charset=utf-8"}
        sender = HttpSender(gateway.url, headers, TEMPLATE, TIMEOUT)
        try:
            await sender.send(MESSAGE)
        finally:
            await sender.aclose()
        assert gateway.requests[0].headers["content-type"] == "application/json; charset=utf-8"

    @given(text=st.text(), to=st.text(), location_id=st.integers(min_value=0))
    def test_any_values_render_to_json_carrying_them(
        self, text: str, to: str, location_id: int
    ) -> None:
        sender = HttpSender("http://127.0.0.1:9", {}, TEMPLATE, TIMEOUT)
        body = sender.render(SmsMessage(to=to, text=text, location_id=location_id))
        assert json.loads(body) == {
            "phone": to,
            "message": text,
            "location": location_id,
            "kind": "otp",
        }

    @pytest.mark.parametrize(
        ("template", "complaint"),
        [
            ("not json {to} {text}", "not JSON"),
            ('{"to": {to}, "text": "{text}"}', "not JSON"),
            ('{"to": "{to}", "text": {text}}', "not JSON"),
            ('{"to": "{to}", "text": "{text}"', "not JSON"),
            ('{"to": "{to}"}', "must contain {to} and {text}"),
        ],
    )
    def test_a_template_that_cannot_make_json_is_refused(
        self, template: str, complaint: str
    ) -> None:
        with pytest.raises(ValueError, match=complaint):
            HttpSender("http://127.0.0.1:9", {}, template, TIMEOUT)


class TestDeliveryErrors:
    async def test_success_reuses_one_connection(
        self, gateway: FakeGateway, make_sender: Callable[..., Sender]
    ) -> None:
        sender = make_sender(gateway.url)
        await sender.send(MESSAGE)
        await sender.send(MESSAGE)
        first, second = gateway.requests
        assert first.client_port == second.client_port

    @pytest.mark.parametrize("status", [400, 401, 500, 503])
    async def test_an_error_status_is_a_delivery_error(
        self, gateway: FakeGateway, make_sender: Callable[..., Sender], status: int
    ) -> None:
        gateway.status = status
        with pytest.raises(SmsDeliveryError, match=f"HTTP {status}") as caught:
            await make_sender(gateway.url).send(MESSAGE)
        assert_discreet(caught.value)

    async def test_a_timeout_is_a_delivery_error(
        self, gateway: FakeGateway, make_sender: Callable[..., Sender]
    ) -> None:
        gateway.hang = True
        with pytest.raises(SmsDeliveryError, match="Timeout") as caught:
            await make_sender(gateway.url, HANG_TIMEOUT).send(MESSAGE)
        assert_discreet(caught.value)
        assert len(gateway.requests) == 1

    async def test_a_refused_connection_is_a_delivery_error(
        self, unused_url: str, make_sender: Callable[..., Sender]
    ) -> None:
        with pytest.raises(SmsDeliveryError, match="ConnectError") as caught:
            await make_sender(unused_url).send(MESSAGE)
        assert_discreet(caught.value)

    async def test_a_client_passed_in_is_used_and_left_open(self, gateway: FakeGateway) -> None:
        async with httpx.AsyncClient() as client:
            for sender in (
                TwilioSender("AC123", TOKEN, "+1555", gateway.url, TIMEOUT, client=client),
                HttpSender(gateway.url, {}, TEMPLATE, TIMEOUT, client=client),
            ):
                await sender.send(MESSAGE)
                await sender.aclose()
            assert not client.is_closed
        assert len(gateway.requests) == 2


def assert_discreet(error: SmsDeliveryError) -> None:
    """Neither the message nor a secret appears, not even in the logged traceback."""
    logged = "".join(traceback.format_exception(error))
    for secret in ("4711", SECRET_TEXT, TOKEN, API_KEY, MESSAGE.to, MESSAGE.text.split()[0]):
        assert secret not in logged
