"""Counts what every sender sends and fails to send, by provider (kit/metrics.py)."""

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
            metrics.SMS_FAILED.labels(self.provider).inc()
            raise
        metrics.SMS_SENT.labels(self.provider).inc()

    async def aclose(self) -> None:
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()
