from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from openbooking.config import Settings
from openbooking.sms.console import ConsoleSender
from openbooking.sms.factory import create_sender
from openbooking.sms.http import HttpSender
from openbooking.sms.outbox import OutboxSender
from openbooking.sms.twilio import TwilioSender

if TYPE_CHECKING:
    from pathlib import Path

TWILIO: dict[str, Any] = {
    "sms_provider": "twilio",
    "twilio_account_sid": "AC123",
    "twilio_auth_token": "token",
    "twilio_from": "+15550001111",
}
HTTP: dict[str, Any] = {"sms_provider": "http", "sms_http_url": "https://sms.example/send"}


def test_outbox_writes_to_the_configured_path(tmp_path: Path) -> None:
    sender = create_sender(Settings(sms_provider="outbox", var_dir=tmp_path, sms_outbox=None))
    assert isinstance(sender, OutboxSender)
    assert sender.path == tmp_path / "sms-outbox.jsonl"


def test_console() -> None:
    assert isinstance(create_sender(Settings(sms_provider="console")), ConsoleSender)


@pytest.mark.parametrize(
    ("settings", "kind"), [(TWILIO, TwilioSender), (HTTP, HttpSender)], ids=["twilio", "http"]
)
def test_gateways(settings: dict[str, Any], kind: type[object]) -> None:
    assert isinstance(create_sender(Settings(**settings)), kind)


@pytest.mark.parametrize("name", ["twilio_account_sid", "twilio_auth_token", "twilio_from"])
def test_twilio_names_the_missing_setting(name: str) -> None:
    with pytest.raises(ValueError, match=f"needs OPENBOOKING_{name.upper()}$"):
        create_sender(Settings(**{**TWILIO, name: " "}))


def test_twilio_names_every_missing_setting() -> None:
    settings = Settings(**{**TWILIO, "twilio_account_sid": "", "twilio_from": ""})
    with pytest.raises(ValueError, match="OPENBOOKING_TWILIO_ACCOUNT_SID, OPENBOOKING_TWILIO_FROM"):
        create_sender(settings)


def test_http_needs_a_url() -> None:
    with pytest.raises(
        ValueError, match="OPENBOOKING_SMS_PROVIDER=http needs OPENBOOKING_SMS_HTTP_URL"
    ):
        create_sender(Settings(**{**HTTP, "sms_http_url": ""}))


def test_http_refuses_a_bad_template() -> None:
    with pytest.raises(ValueError, match="template"):
        create_sender(Settings(**{**HTTP, "sms_http_body": '{"to": "{to}", "text": {text}}'}))
