"""Counts what every sender sends and fails to send, by provider (`kit.metrics.count`: the
confirmation SMS goes out after every booking)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openbooking.kit import metrics
from openbooking.sms.base import SmsDeliveryError

if TYPE_CHECKING:
    from openbooking.sms.base import SmsMessage, SmsSender


class MeteredSender:
    """Wraps a sender: `openbooking_sms_sent_total` / `openbooking_sms_failed_total`."""

    def __init__(self, inner: SmsSender, provider: str) -> None:
        self.inner = inner
        self.provider = provider

    async def send(self, message: SmsMessage) -> None:
        try:
            await self.inner.send(message)
        except SmsDeliveryError:
            metrics.count(metrics.SMS_FAILED, self.provider)
            raise
        metrics.count(metrics.SMS_SENT, self.provider)

    async def aclose(self) -> None:
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()
