"""Development sender: writes every message to the log."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openbooking.sms.base import SmsMessage

logger = logging.getLogger(__name__)


class ConsoleSender:
    """Logs each message at WARNING, text included, so codes can be read off the console.

    This is the one place a verification code may be printed: it exists for development and
    must never be configured in production.
    """

    async def send(self, message: SmsMessage) -> None:
        logger.warning("SMS to %s (location %s): %s", message.to, message.location_id, message.text)
