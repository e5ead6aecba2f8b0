"""One interface for every SMS gateway."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SmsMessage:
    to: str  # E.164, e.g. "+4915112345678"
    text: str
    location_id: int


class SmsDeliveryError(Exception):
    """The gateway did not accept the message. The text never contains the message itself."""


class SmsSender(Protocol):
    async def send(self, message: SmsMessage) -> None:
        """Deliver or raise SmsDeliveryError."""
        ...
