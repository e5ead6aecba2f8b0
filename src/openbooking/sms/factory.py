"""The sender the settings ask for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openbooking.sms.console import ConsoleSender
from openbooking.sms.http import HttpSender
from openbooking.sms.outbox import OutboxSender
from openbooking.sms.twilio import TwilioSender

if TYPE_CHECKING:
    from openbooking.config import Settings
    from openbooking.sms.base import SmsSender


def _require(provider: str, **settings: str) -> None:
    missing = [
        f"OPENBOOKING_{name.upper()}" for name, value in settings.items() if not value.strip()
    ]
    if missing:
        raise ValueError(f"OPENBOOKING_SMS_PROVIDER={provider} needs {', '.join(missing)}")


def create_sender(settings: Settings) -> SmsSender:
    """Senders that own an HTTP client have `aclose()`; call it on shutdown."""
    match settings.sms_provider:
        case "outbox":
            return OutboxSender(settings.outbox_path())
        case "console":
            return ConsoleSender()
        case "twilio":
            token = settings.twilio_auth_token.get_secret_value()
            _require(
                "twilio",
                twilio_account_sid=settings.twilio_account_sid,
                twilio_auth_token=token,
                twilio_from=settings.twilio_from,
            )
            return TwilioSender(
                account_sid=settings.twilio_account_sid,
                auth_token=token,
                from_number=settings.twilio_from,
                api_url=settings.twilio_api_url,
                timeout=settings.sms_timeout_seconds,
            )
        case "http":
            _require("http", sms_http_url=settings.sms_http_url)
            return HttpSender(
                url=settings.sms_http_url,
                headers=settings.sms_http_headers,
                body_template=settings.sms_http_body,
                timeout=settings.sms_timeout_seconds,
            )
